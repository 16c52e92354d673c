"""Translations: every message in the code has a Ukrainian translation, and people see pages in their language.

The language comes from the user's saved choice (set on /me), else from the browser's Accept-Language; English
is the source language, so a message without a translation would show in English.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from babel.messages.pofile import read_po
from sqlalchemy import select, update
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.models import Role, User
from voronka.core.state import bump
from voronka.web.testkit import VoronkaClient
from voronka.web.translations import missing, po_path

PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]")


def set_language(app: Any, username: str, language: str) -> None:
    """Save ``username``'s language the way /me does (the "security" counter drops cached users)."""
    with write_transaction(app.state.voronka.sessions) as session:
        session.execute(update(User).where(User.username == username).values(language=language))
        bump(session, "security")


def title(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.S)
    assert found is not None, "the page has no <title>"
    return unescape(found.group(1)).strip()


def text_of(html: str) -> str:
    """The page's visible words, tags stripped and entities decoded."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


# -- the catalog -----------------------------------------------------------------------------------------


def test_every_message_has_a_ukrainian_translation():
    gaps = missing("uk")
    assert not gaps, "untranslated (run `python -m voronka.web.translations extract`, then translate):\n" + "\n".join(
        gaps
    )


def test_translations_keep_the_placeholders():
    with po_path("uk").open("rb") as fh:
        catalog = read_po(fh, locale="uk")
    assert not catalog.fuzzy, "the catalog header is marked fuzzy"
    assert catalog.project == "voronka" and catalog.version == "0.1"
    assert catalog.language_team.startswith("Ukrainian")
    assert catalog.num_plurals == 3
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for form in strings:
            if set(PLACEHOLDER.findall(form)) != expected:
                problems.append(f"{ids[0]!r}: {form!r} has {sorted(PLACEHOLDER.findall(form))}, not {sorted(expected)}")
            # Templates %-format every message, so a lone % would break the page.
            if "%" in PLACEHOLDER.sub("", form).replace("%%", ""):
                problems.append(f"{ids[0]!r}: {form!r} has a % that is not a placeholder")
        if isinstance(message.id, tuple) and len(strings) != 3:
            problems.append(f"{ids[0]!r}: Ukrainian needs 3 plural forms, has {len(strings)}")
    assert not problems, "\n".join(problems)


# -- a user who chose Ukrainian --------------------------------------------------------------------------


def test_ukrainian_user_sees_the_shell_in_ukrainian(client: VoronkaClient, app: Any) -> None:
    set_language(app, "admin", "uk")
    client.login("admin")
    home = client.get("/")
    assert home.status_code == 200
    assert '<html lang="uk">' in home.text
    assert title(home.text) == "Головна · Voronka"
    words = text_of(home.text)
    for ukrainian in ("Головна", "Адміністрування", "Мій профіль", "Вийти", "Раді вас бачити, Olena"):
        assert ukrainian in words, ukrainian
    for english in ("Administration", "My profile", "Log out", "Good to see you"):
        assert english not in words, english
    assert 'aria-label="Головна навігація"' in home.text and 'placeholder="Пошук…"' in home.text

    profile = client.get("/me")
    assert title(profile.text) == "Мій профіль · Voronka"
    assert "Часовий пояс" in profile.text and "Зберегти" in profile.text

    search = client.get("/search?q=zz-nothing")
    assert "За запитом «zz-nothing» нічого не знайдено." in unescape(search.text)


def test_ukrainian_admin_pages(client: VoronkaClient, app: Any) -> None:
    set_language(app, "admin", "uk")
    client.login("admin")
    overview = client.get("/admin")
    assert overview.status_code == 200 and title(overview.text) == "Адміністрування · Voronka"
    assert "Команди та черги" in overview.text and "Налаштування" in overview.text

    plugins = client.get("/admin/plugins")
    assert plugins.status_code == 200 and title(plugins.text) == "Плагіни · Voronka"
    assert "Установлені плагіни, їхні залежності та чи ввімкнено їх для всіх." in plugins.text
    assert "Installed plugins" not in plugins.text

    users = client.get("/admin/users")
    assert title(users.text) == "Користувачі · Voronka" and "Новий користувач" in users.text

    # Built-in roles and the core permissions are declared in English and shown translated.
    roles = client.get("/admin/roles")
    words = text_of(roles.text)
    assert title(roles.text) == "Ролі · Voronka"
    for ukrainian in ("Адміністратор", "Керівник відділу продажів", "Менеджер з продажу", "Оператор контакт-центру",
                      "Усі записи", "Усі підлеглі за ієрархією", "вбудована"):  # fmt: skip
        assert ukrainian in words, ukrainian
    assert "Sales manager" not in words and "All records" not in words
    with app.state.voronka.sessions() as session:
        admin_role = session.scalar(select(Role.id).where(Role.key == "admin"))
    role = client.get(f"/admin/roles/{admin_role}")
    assert title(role.text) == "Адміністратор · Voronka"
    assert "Адмініструвати Voronka" in role.text and "Користуватися глобальним пошуком" in role.text
    assert 'value="Administrator"' in role.text  # the stored name is what the form edits

    teams = client.get("/admin/teams")
    assert title(teams.text) == "Команди та черги · Voronka"
    settings = client.get("/admin/settings")
    assert title(settings.text) == "Налаштування · Voronka"


def test_ukrainian_error_pages(client: VoronkaClient, app: Any) -> None:
    set_language(app, "sales", "uk")
    client.login("sales")
    missing_page = client.get("/no-such-page")
    assert missing_page.status_code == 404
    assert title(missing_page.text) == "Сторінку не знайдено · Voronka"
    assert "За цією адресою нічого немає." in missing_page.text and "На головну сторінку" in missing_page.text
    assert "Page not found" not in missing_page.text

    forbidden = client.get("/admin")
    assert forbidden.status_code == 403
    assert title(forbidden.text) == "Доступ заборонено · Voronka"
    assert "У вас немає дозволу відкривати цю сторінку." in forbidden.text


async def _crash(request: Any) -> Any:
    raise RuntimeError("internal detail that must not reach the user")


def test_the_500_page_speaks_the_visitors_language(app: Any) -> None:
    """The 500 page is rendered outside the request's context (Starlette's outermost handler)."""
    app.router.routes.append(Route("/crash-for-test", _crash))  # for this test only, as in test_security_sessions
    set_language(app, "sales", "uk")
    with VoronkaClient(app) as client:
        anonymous = client.get("/crash-for-test", headers={"Accept-Language": "uk"})
        assert anonymous.status_code == 500 and '<html lang="uk">' in anonymous.text
        assert "Щось пішло не так на нашому боці." in anonymous.text and "internal detail" not in anonymous.text
        assert "Something went wrong" in client.get("/crash-for-test", headers={"Accept-Language": "en"}).text
        client.login("sales")
        crashed = client.get("/crash-for-test", headers={"Accept-Language": "en"})
        assert crashed.status_code == 500 and title(crashed.text) == "Щось пішло не так · Voronka"
        assert "Помилка 500" in crashed.text and "На головну сторінку" in crashed.text


# -- visitors who are not logged in ------------------------------------------------------------------------


def test_login_page_follows_accept_language(app: Any) -> None:
    with VoronkaClient(app) as visitor:
        ukrainian = visitor.get("/login", headers={"Accept-Language": "uk"})
        assert ukrainian.status_code == 200 and '<html lang="uk">' in ukrainian.text
        assert title(ukrainian.text) == "Увійти · Voronka"
        for text in ("Вхід до робочого простору", "Логін", "Пароль", "Забули пароль?"):
            assert text in ukrainian.text, text
        assert "Log in to your workspace" not in ukrainian.text

        browser_default = visitor.get("/login", headers={"Accept-Language": "uk-UA,uk;q=0.9,en-US;q=0.8,en;q=0.7"})
        assert "Вхід до робочого простору" in browser_default.text

        english = visitor.get("/login", headers={"Accept-Language": "en"})
        assert '<html lang="en">' in english.text and title(english.text) == "Log in · Voronka"
        assert "Log in to your workspace" in english.text and "Вхід" not in english.text

        unknown = visitor.get("/login", headers={"Accept-Language": "de-DE,fr;q=0.8"})
        assert "Log in to your workspace" in unknown.text  # English when nothing matches

        wrong = visitor.post(
            "/login",
            data={"username": "admin", "password": "not-the-password", "next": "/"},
            headers={"Accept-Language": "uk"},
        )
        assert wrong.status_code == 400 and "Неправильний логін або пароль." in wrong.text

        lost = visitor.get("/no-such-page", headers={"Accept-Language": "uk"})
        assert lost.status_code == 404 and "Сторінку не знайдено" in lost.text and "Увійти" in lost.text


def test_saved_language_wins_over_the_browser(client: VoronkaClient, app: Any) -> None:
    set_language(app, "sales", "uk")
    client.login("sales")
    page = client.get("/", headers={"Accept-Language": "en"})
    assert '<html lang="uk">' in page.text and "Головна" in page.text


# -- switching on /me --------------------------------------------------------------------------------------


def test_switching_language_on_me_changes_the_next_page(client: VoronkaClient, app: Any) -> None:
    client.login("sales")
    assert "My profile" in client.get("/").text

    saved = client.post("/me", data={"language": "uk", "timezone": "Europe/Kyiv"})
    assert saved.status_code == 200 and str(saved.url).endswith("/me?saved=1")
    assert "Збережено. Тепер сторінки показано вашою мовою та у вашому часовому поясі." in saved.text
    home = client.get("/")
    assert '<html lang="uk">' in home.text and "Мій профіль" in home.text and "My profile" not in home.text

    refused = client.post("/me", data={"language": "xx", "timezone": "Mars/Base"})
    assert refused.status_code == 400
    assert "Виберіть одну з мов у списку." in refused.text
    assert "Виберіть часовий пояс зі списку, наприклад Europe/Kyiv." in refused.text

    back = client.post("/me", data={"language": "en", "timezone": "Europe/Kyiv"})
    assert "Saved. Pages now use your language and time zone." in back.text
    assert "My profile" in client.get("/").text


# -- validation messages -----------------------------------------------------------------------------------


def test_validation_errors_in_ukrainian(client: VoronkaClient, app: Any) -> None:
    set_language(app, "admin", "uk")
    client.login("admin")
    with app.state.voronka.sessions() as session:
        sales_role = session.scalar(select(Role.id).where(Role.key == "sales"))
        sales_id = session.scalar(select(User.id).where(User.username == "sales"))
    form = {
        "username": "sales", "display_name": "Петро Коваленко", "email": "not-an-address", "password": "short",
        "language": "uk", "timezone": "Europe/Kyiv", "roles": [str(sales_role)],
    }  # fmt: skip
    response = client.post("/admin/users/new", data=form)
    assert response.status_code == 400
    html = unescape(response.text)
    assert "Пароль має містити щонайменше 8 символів." in html
    assert "Логін «sales» уже зайнятий." in html
    assert "Введіть адресу електронної пошти, наприклад name@example.com." in html
    assert "at least 8 characters" not in html and "is taken" not in html

    nameless = client.post("/admin/users/new", data={**form, "username": "  ", "password": "a-long-password"})
    assert "Логін — це від 1 до 150 символів без пробілів." in nameless.text

    # An HTMX fragment (a manager link to oneself) answers in Ukrainian too.
    loop = client.hx_post(
        f"/admin/users/{sales_id}/managers",
        data={"manager_id": str(sales_id), "valid_from": "2025-01-01", "valid_to": ""},
    )
    assert loop.status_code == 400 and "<html" not in loop.text
    assert "Користувач не може бути керівником сам собі." in loop.text

    # A refusal built by the admin screens: taking the administrator role from its only holder.
    with app.state.voronka.sessions() as session:
        admin_id = session.scalar(select(User.id).where(User.username == "admin"))
    own = client.post(
        f"/admin/users/{admin_id}",
        data={"display_name": "Olena Admin", "email": "", "language": "uk", "timezone": "Europe/Kyiv",
              "active": "1", "roles": [str(sales_role)]},
    )  # fmt: skip
    assert own.status_code == 400
    assert "Після цієї зміни не залишиться жодного активного користувача" in own.text
