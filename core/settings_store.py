"""Plugin settings: typed fields declared by ``settings_schema()``, values stored per deployment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import ValidationError
from .i18n import gettext as _
from .models import SettingValue
from .state import bump
from .types import utcnow

TYPES = ("text", "textarea", "int", "bool", "choice", "email", "url")


@dataclass(frozen=True)
class SettingField:
    """One setting on a plugin's admin page. ``choices`` is a list of (value, label) for ``choice``.

    The schema is read once at start-up, so mark ``label``, ``help`` and choice labels with ``N_()``: the
    admin page translates them into the admin's language when it shows them.
    """

    key: str
    label: str
    type: str = "text"
    default: Any = None
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    min: int | None = None
    max: int | None = None
    required: bool = False

    def parse(self, raw: str | None) -> Any:
        """Turn form input into the stored value, or raise ValueError with a message for the user."""
        if self.type == "bool":
            return raw in ("on", "true", "1", "yes")
        text = (raw or "").strip()
        if not text:
            if self.required:
                raise ValueError(_("This setting is required."))
            return self.default
        if self.type == "int":
            try:
                value = int(text)
            except ValueError:
                raise ValueError(_("Enter a whole number.")) from None
            if self.min is not None and value < self.min:
                raise ValueError(_("Enter %(min)s or more.") % {"min": self.min})
            if self.max is not None and value > self.max:
                raise ValueError(_("Enter %(max)s or less.") % {"max": self.max})
            return value
        if self.type == "choice":
            if text not in {c[0] for c in self.choices}:
                raise ValueError(_("Choose one of the listed options."))
            return text
        if self.type == "email" and ("@" not in text or " " in text):
            raise ValueError(_("Enter an e-mail address such as sales@example.com."))
        if self.type == "url" and not text.startswith(("http://", "https://")):
            raise ValueError(_("Enter an address starting with https://."))
        if len(text) > 5000:
            raise ValueError(_("Keep it under 5,000 characters."))
        return text


class SettingsStore:
    """Reads and writes plugin settings; reads are cached per process until the "settings" version moves."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Any] | None = None
        self.schemas: dict[str, list[SettingField]] = {}

    def invalidate(self) -> None:
        self._cache = None

    def _load(self, session: Session) -> dict[tuple[str, str], Any]:
        if self._cache is None:
            self._cache = {(r.plugin, r.key): r.value for r in session.scalars(select(SettingValue))}
        return self._cache

    def get(self, session: Session, plugin: str, key: str) -> Any:
        values = self._load(session)
        if (plugin, key) in values:
            return values[(plugin, key)]
        for f in self.schemas.get(plugin, []):
            if f.key == key:
                return f.default
        raise KeyError(f"{plugin} declares no setting {key!r}")

    def values(self, session: Session, plugin: str) -> dict[str, Any]:
        return {f.key: self.get(session, plugin, f.key) for f in self.schemas.get(plugin, [])}

    def save(self, session: Session, plugin: str, form: dict[str, str | None]) -> dict[str, Any]:
        """Validate every field of ``plugin`` from ``form``; store all or nothing."""
        errors: dict[str, str] = {}
        parsed: dict[str, Any] = {}
        for f in self.schemas.get(plugin, []):
            try:
                parsed[f.key] = f.parse(form.get(f.key))
            except ValueError as exc:
                errors[f.key] = str(exc)
        if errors:
            raise ValidationError(errors)
        for key, value in parsed.items():
            row = session.get(SettingValue, (plugin, key))
            if row is None:
                session.add(SettingValue(plugin=plugin, key=key, value=value, changed_at=utcnow()))
            else:
                row.value, row.changed_at = value, utcnow()
        bump(session, "settings")
        self.invalidate()
        return parsed
