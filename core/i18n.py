"""Translations: the active language is a context variable, set per request by the web layer.

Catalogs are gettext ``.po`` files (``locale/<lang>/LC_MESSAGES/voronka.po``) in web and in any plugin;
they are merged per language so plugins translate their own strings.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = {"en": "English", "uk": "Українська"}
DEFAULT_LANGUAGE = "en"

current_language: ContextVar[str] = ContextVar("voronka_language", default=DEFAULT_LANGUAGE)

_catalogs: dict[str, NullTranslations] = {}


def load_catalogs(locale_dirs: list[Path]) -> None:
    """(Re)load every language's catalog from ``locale_dirs``; later folders add to earlier ones."""
    _catalogs.clear()
    for lang in LANGUAGES:
        merged: Translations | None = None
        for base in locale_dirs:
            po = base / lang / "LC_MESSAGES" / "voronka.po"
            if not po.is_file():
                continue
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            buf = io.BytesIO()
            write_mo(buf, catalog)
            buf.seek(0)
            translations = Translations(fp=buf)
            if merged is None:
                merged = translations
            else:
                merged.merge(translations)
        _catalogs[lang] = merged or NullTranslations()


def translations(lang: str | None = None) -> NullTranslations:
    return _catalogs.get(lang or current_language.get()) or NullTranslations()


def gettext(message: str) -> str:
    return translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations().ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it yet (translated where it is shown)."""
    return message


def pick_language(accept: str | None, preferred: str | None = None) -> str:
    """The user's saved language, else the best match from Accept-Language, else English."""
    if preferred in LANGUAGES:
        return preferred  # type: ignore[return-value]
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE
