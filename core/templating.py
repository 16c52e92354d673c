"""Templating for the shell and every plugin: Jinja2 with overrides, plugin templates, i18n and fragments.

A route renders the full page, or only the named block when HTMX asks (``HX-Request``), from one template.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from jinja2_fragments import render_block
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from voronka.core import i18n
from voronka.core.plugins import PluginHost
from voronka.core.ui import NavItem, Panel

log = logging.getLogger("voronka.web")


def make_environment(host: PluginHost, override_dir: str = "", shell_dir: Path | None = None) -> Environment:
    """Templates from the deployment's override folder, then each loaded plugin's, then the shell's."""
    loaders = []
    if override_dir:
        loaders.append(FileSystemLoader(override_dir))
    for info in host.loaded:
        folder = info.subdir("templates")
        if folder is not None:
            loaders.append(FileSystemLoader(str(folder)))
    if shell_dir is not None:
        loaders.append(FileSystemLoader(str(shell_dir)))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["datetime"] = _format_datetime
    env.filters["date"] = _format_date
    env.filters["money"] = format_money
    env.filters["number"] = _format_number
    env.globals["languages"] = i18n.LANGUAGES
    return env


def _format_datetime(value: dt.datetime | None, tz: str = "UTC", fmt: str = "medium") -> str:
    if value is None:
        return ""
    try:
        zone = ZoneInfo(tz)
    except Exception:
        zone = ZoneInfo("UTC")
    return format_datetime(value.astimezone(zone), format=fmt, locale=i18n.current_language.get())


def _format_date(value: dt.date | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    return format_date(value, format=fmt, locale=i18n.current_language.get())


def format_money(value: Any, currency: str | None = None, *, whole: bool = False) -> str:
    """Money in the viewer's locale: ``{{ deal.amount | money }}`` for a :class:`~voronka.core.types.Money`,
    ``{{ minor | money("EUR") }}`` for minor units and a code. ``whole`` drops the minor digits (board
    columns, chart labels). None shows as an empty string."""
    if value is None:
        return ""
    minor, code = (value, currency or "") if currency is not None else (value.minor, value.currency)
    from .types import currency_exponent

    exponent = currency_exponent(code)
    language = i18n.current_language.get()
    shape = _money_shape(language, code, exponent, whole) if isinstance(minor, int) and minor >= 0 else None
    if shape is not None:
        return shape.apply(minor)
    amount = Decimal(minor).scaleb(-exponent)
    if whole:
        amount = amount.to_integral_value()
    locale, pattern = _money_pattern(language, whole)
    return pattern.apply(amount, locale, currency=code, currency_digits=not whole)


@dataclass(frozen=True)
class _MoneyShape:
    """How a locale writes a non-negative amount of one currency, read off Babel's own output once: the
    text around the number, the group and decimal symbols. Formatting with it is string work only (Babel
    costs tens of microseconds per amount; a board shows hundreds)."""

    prefix: str
    suffix: str
    group: str
    decimal: str
    exponent: int
    whole: bool

    def apply(self, minor: int) -> str:
        units, cents = divmod(minor, 10**self.exponent) if self.exponent else (minor, 0)
        if self.whole and self.exponent:  # Decimal.to_integral_value rounds half to even; so does this
            half = 10**self.exponent
            units += 1 if cents * 2 > half or (cents * 2 == half and units % 2) else 0
        digits = str(units)
        head = len(digits) % 3 or 3
        grouped = self.group.join([digits[:head], *(digits[i : i + 3] for i in range(head, len(digits), 3))])
        if not self.whole and self.exponent:
            grouped += self.decimal + str(cents).rjust(self.exponent, "0")
        return self.prefix + grouped + self.suffix


@functools.lru_cache(maxsize=256)
def _money_shape(language: str, code: str, exponent: int, whole: bool) -> _MoneyShape | None:
    """The shape of ``code`` amounts in ``language``, or None where the probe shows the locale writes them
    in a way the shape cannot (other grouping, other digits): those amounts go through Babel."""
    locale, pattern = _money_pattern(language, whole)
    probe_minor = 1234567 * 10**exponent + (10**exponent - 1 if exponent and not whole else 0)
    probe = Decimal(probe_minor).scaleb(-exponent)
    if whole:
        probe = probe.to_integral_value()
    text = pattern.apply(probe, locale, currency=code, currency_digits=not whole)
    start, end = text.find("1"), text.find("567")
    if start < 0 or end < 0:
        return None
    group = text[start + 1 : text.find("234", start)]
    after = end + 3
    decimal = ""
    if not whole and exponent:
        decimal = text[after : text.find("9" * exponent, after)]
        after += len(decimal) + exponent
    shape = _MoneyShape(text[:start], text[after:], group, decimal, exponent, whole)
    for check in (0, 5, 99, 150, 250, 1000, 123456789, probe_minor):  # it must agree with Babel, or it is not used
        amount = Decimal(check).scaleb(-exponent)
        if whole:
            amount = amount.to_integral_value()
        if shape.apply(check) != pattern.apply(amount, locale, currency=code, currency_digits=not whole):
            return None
    return shape


@functools.lru_cache(maxsize=64)
def _money_pattern(language: str, whole: bool) -> tuple[Locale, Any]:
    """The locale's currency pattern, parsed once (Babel parses it on every call: a money-heavy page paid
    tens of microseconds per amount)."""
    locale = Locale.parse(language)
    pattern = copy.copy(locale.currency_formats["standard"])
    if whole:
        pattern.frac_prec = (0, 0)
    return locale, pattern


def _format_number(value: Any, digits: int | None = None) -> str:
    if value is None:
        return ""
    if digits is not None:
        return format_decimal(
            value, format="#,##0." + "0" * digits if digits else "#,##0", locale=i18n.current_language.get()
        )
    return format_decimal(value, locale=i18n.current_language.get())


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def nav_for(request: Request) -> list[NavItem]:
    host: PluginHost = request.app.state.voronka.host
    items: list[NavItem] = []
    for batch in host.hook.nav_items(request=request):
        items.extend(batch or [])
    return sorted(items, key=lambda i: (i.order, i.label))


def csrf_token(request: Request) -> str:
    """The session's CSRF token, minted when a page first needs one (so /health sets no cookie)."""
    session = request.scope.setdefault("session", {})
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


def base_context(request: Request) -> dict[str, Any]:
    user = request.scope.get("user")
    return {
        "request": request,
        "user": user,
        "csrf_token": csrf_token(request),
        "lang": i18n.current_language.get(),
        "nav": nav_for(request) if getattr(user, "is_authenticated", False) else [],
        "path": request.url.path,
        "app_name": "Voronka",
    }


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template``; when HTMX asks and ``block`` is given, only that block."""
    env: Environment = request.app.state.voronka.templates
    ctx = base_context(request)
    if context:
        ctx.update(context)
    if block is not None and is_htmx(request):
        html = render_block(env, template, block, ctx)
    else:
        html = env.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code, headers=headers)


def render_panels(request: Request, slot: str, obj: Any = None) -> list[dict[str, Any]]:
    """Collect panels for ``slot`` from enabled plugins; each renders in its own try/except."""
    host: PluginHost = request.app.state.voronka.host
    env: Environment = request.app.state.voronka.templates
    panels: list[Panel] = []
    try:
        for batch in host.hook.slot(name=slot, request=request, obj=obj):
            panels.extend(batch or [])
    except Exception:
        log.exception("a plugin failed while listing panels for slot %s", slot)
    rendered = []
    ctx = base_context(request)
    for panel in sorted(panels, key=lambda p: (p.order, p.title)):
        entry: dict[str, Any] = {"key": panel.key, "title": panel.title, "lazy_url": panel.lazy_url}
        if panel.template and not panel.lazy_url:
            try:
                entry["html"] = Markup(env.get_template(panel.template).render({**ctx, **panel.context}))
            except Exception:
                log.exception("panel %s failed to render", panel.key)
                entry["error"] = True
        rendered.append(entry)
    return rendered
