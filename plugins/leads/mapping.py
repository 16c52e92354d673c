"""The qualification mapping: which lead field, lead custom field or script answer fills each target (a
field or ``custom.<key>``) of each outcome's record kind.

Every outcome ships its built-in mapping (``defaults``); admins override it per target on
``/leads/settings/mapping`` (:class:`~.models.FieldMapping` rows). A row with an empty source unmaps a
target the defaults would fill. Sources are ``lead.<field>``, ``lead.custom.<key>`` and
``answer.<step key>`` (the steps of the saved scripts).
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from voronka.core import custom_fields
from voronka.core.errors import ValidationError
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.records import build_registry

from .contract import Outcome
from .models import FieldMapping, Lead, Script, ScriptVersion

CUSTOM = "custom."
LEAD, LEAD_CUSTOM, ANSWER = "lead.", "lead.custom.", "answer."
SOURCE_MAX, TARGET_MAX = 160, 120

LEAD_SOURCES: tuple[tuple[str, str], ...] = (
    ("first_name", N_("First name")), ("last_name", N_("Last name")), ("name", N_("Full name")),
    ("job_title", N_("Job title")), ("company", N_("Company")), ("email", N_("E-mail")), ("phone", N_("Phone")),
    ("website", N_("Web site")), ("city", N_("City")), ("country", N_("Country")), ("message", N_("Message")),
    ("channel", N_("Channel")), ("utm_source", N_("UTM source")), ("utm_medium", N_("UTM medium")),
    ("utm_campaign", N_("UTM campaign")), ("utm_term", N_("UTM term")), ("utm_content", N_("UTM content")),
    ("referrer", N_("Referrer")), ("external_ref", N_("External reference")),
    ("marketing_consent", N_("Marketing consent")), ("consent_at", N_("Consent given at")),
    ("consent_text", N_("Consent wording")),
)  # fmt: skip
"""The lead's own fields a mapping may read (``lead.<field>``)."""

_REGISTRIES: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def plugin_host(host: Any) -> Any:
    """The plugin host, given the host itself or the app's runtime (which holds it as ``.host``)."""
    inner = getattr(host, "host", None)
    return inner if inner is not None and hasattr(inner, "pm") else host


def record_kinds(host: Any) -> Any:
    """The registered record kinds (``runtime.record_kinds``) from the runtime or, given only the plugin
    host, a registry built once per host (kinds must come registered for core's write path)."""
    found = getattr(host, "record_kinds", None)
    if found is not None:
        return found
    host = plugin_host(host)
    registry = _REGISTRIES.get(host)
    if registry is None:
        registry = _REGISTRIES[host] = build_registry(host)
    return registry


# -- sources -----------------------------------------------------------------------------------------------


def script_steps(session: Session) -> list[tuple[str, str]]:
    """``(step key, label)`` of every step of the current versions of the scripts that are not archived,
    in script order; a key asked by two scripts is listed once."""
    query = (
        select(Script.name, ScriptVersion.definition)
        .join(ScriptVersion, ScriptVersion.id == Script.current_version_id)
        .where(Script.archived.is_(False))
        .order_by(Script.name, Script.id)
    )
    found: dict[str, str] = {}
    for script_name, definition in session.execute(query):
        for key, label in _steps_of(definition):
            found.setdefault(key, f"{label} ({script_name})" if label != key else f"{key} ({script_name})")
    return list(found.items())


def _steps_of(definition: Any) -> Iterable[tuple[str, str]]:
    """The question steps of a script definition: ``steps`` as a list of dicts with ``key`` or a dict keyed
    by step key; steps that only end the script (``outcome``/``end``) have no answer to map."""
    steps = definition.get("steps") if isinstance(definition, dict) else None
    if isinstance(steps, dict):
        steps = [{"key": key, **(value if isinstance(value, dict) else {})} for key, value in steps.items()]
    for step in steps or ():
        if not isinstance(step, dict) or not isinstance(step.get("key"), str):
            continue
        if step.get("type") in ("outcome", "lookup", "action"):
            continue  # the end of a script, and steps the runner takes on its own: no answer to map
        label = step.get("title") or step.get("label") or step.get("question") or step["key"]
        yield step["key"], str(label)[:200]


def sources(session: Session) -> list[tuple[str, list[tuple[str, str]]]]:
    """What a target can take its value from, grouped for a picker: ``[(group label, [(source, label)])]``."""
    groups = [(_("Lead"), [(LEAD + key, _(label)) for key, label in LEAD_SOURCES])]
    lead_custom = [(LEAD_CUSTOM + f.key, f.label) for f in custom_fields.definitions(session, "lead")]
    if lead_custom:
        groups.append((_("Lead custom fields"), lead_custom))
    answers = [(ANSWER + key, label) for key, label in script_steps(session)]
    if answers:
        groups.append((_("Script answers"), answers))
    return groups


def known_source(session: Session, source: str) -> bool:
    """Whether ``source`` names something a lead has: a lead field, a lead custom field (archived ones too)
    or any step key (a script may be edited later; an answer that is missing maps to nothing)."""
    if source.startswith(LEAD_CUSTOM):
        return source[len(LEAD_CUSTOM) :] in custom_fields.by_key(session, "lead")
    if source.startswith(LEAD):
        return source[len(LEAD) :] in dict(LEAD_SOURCES)
    if source.startswith(ANSWER):
        key = source[len(ANSWER) :]
        return bool(key) and len(key) <= 60 and key.replace("_", "").replace("-", "").replace(".", "").isalnum()
    return False


# -- the mapping of an outcome ------------------------------------------------------------------------------


def overrides(session: Session) -> dict[str, dict[str, str]]:
    """Admin rows by outcome key: target → source ("" unmaps a default)."""
    found: dict[str, dict[str, str]] = {}
    for row in session.scalars(select(FieldMapping)):
        found.setdefault(row.outcome, {})[row.target] = row.source
    return found


def mapping_of(session: Session, outcome: Outcome, rows: dict[str, str] | None = None) -> dict[str, str]:
    """Target → source of ``outcome``: its defaults with the admin's rows on top (unmapped left out)."""
    if rows is None:
        rows = {
            r.target: r.source for r in session.scalars(select(FieldMapping).where(FieldMapping.outcome == outcome.key))
        }
    merged = {**dict(outcome.defaults), **rows}
    return {target: source for target, source in merged.items() if source}


def lead_value(lead: Any, answers: dict[str, Any], source: str) -> Any:
    """What ``source`` holds for ``lead`` (a :class:`Lead` or a dict of its fields) and the answers."""
    if source.startswith(LEAD_CUSTOM):
        custom = (lead.get("custom") if isinstance(lead, dict) else lead.custom) or {}
        return custom.get(source[len(LEAD_CUSTOM) :])
    if source.startswith(LEAD):
        key = source[len(LEAD) :]
        return lead.get(key) if isinstance(lead, dict) else getattr(lead, key, None)
    if source.startswith(ANSWER):
        return (answers or {}).get(source[len(ANSWER) :])
    return None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def values_for(
    session: Session,
    host: Any,
    outcome: Outcome,
    lead: Any,
    answers: dict[str, Any] | None,
    *,
    rows: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The values ``outcome`` gets from ``lead`` and ``answers``: target → value, empty ones left out,
    plain values fitted to the target column (text cut to its length, yes/no, dates from ISO text).
    ``rows`` are the admin's rows of this outcome when the caller read them already (:func:`overrides`)."""
    kind = record_kinds(host).get(outcome.kind)
    mapping = mapping_of(session, outcome, rows)
    found: dict[str, Any] = {}
    for target, source in mapping.items():
        value = lead_value(lead, answers or {}, source)
        if isinstance(value, str):
            value = value.strip()
        if _empty(value):
            continue
        if kind is not None and not target.startswith(CUSTOM):
            value = fit(kind, target, value)
            if _empty(value):
                continue
        found[target] = value
    return found


def fit(kind: Any, target: str, value: Any) -> Any:
    """``value`` as the column ``target`` of ``kind`` stores it, or None when it cannot be one; targets
    that are not columns (an outcome's own, such as an amount typed as text) pass unchanged."""
    attr = kind.columns.get(target)
    if attr is None:
        return value
    column = attr.columns[0]
    try:
        expected = column.type.python_type
    except (NotImplementedError, AttributeError):
        return value
    if expected is str:
        text = value if isinstance(value, str) else _text(value)
        length = getattr(column.type, "length", None)
        return text[:length].strip() if length else text
    if expected is bool:
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "y", "on", "так", "+")
        return bool(value)
    if expected is int:
        try:
            return int(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            return None
    if expected is dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        try:
            return dt.datetime.fromisoformat(str(value))
        except ValueError:
            return None
    if expected is dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            return None
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def write_values(values: dict[str, Any]) -> dict[str, Any]:
    """Mapped values as core's write path takes them: ``custom.<key>`` becomes ``cf.<key>``."""
    return {(custom_fields.PREFIX + k[len(CUSTOM) :] if k.startswith(CUSTOM) else k): v for k, v in values.items()}


# -- saving the admin's mapping -----------------------------------------------------------------------------


def save_mapping(session: Session, outcomes: dict[str, Outcome], chosen: dict[str, dict[str, str]]) -> int:
    """Replace the rows of the outcomes in ``chosen`` (outcome key → target → source; "" = not mapped)
    in the caller's transaction, after checking every outcome, target and source; returns rows kept.
    Rows equal to the built-in mapping are not stored, so a later change of the defaults reaches them."""
    errors: dict[str, str] = {}
    rows: list[FieldMapping] = []
    for key, targets in chosen.items():
        outcome = outcomes.get(key)
        if outcome is None:
            errors[key] = _("“%(outcome)s” is not an outcome a lead can be qualified into.") % {"outcome": key[:60]}
            continue
        known = {target for target, _label in outcome.fields(session)}
        for target, source in targets.items():
            source = (source or "").strip()
            name = f"{key}:{target}"
            if target not in known or len(target) > TARGET_MAX:
                errors[name] = _("“%(target)s” is not a field of %(outcome)s.") % {
                    "target": target[:120], "outcome": _(outcome.label)}  # fmt: skip
                continue
            if source and (len(source) > SOURCE_MAX or not known_source(session, source)):
                errors[name] = _("“%(source)s” is not a lead field, a lead custom field or a script answer.") % {
                    "source": source[:160]}  # fmt: skip
                continue
            if source == outcome.defaults.get(target, ""):
                continue
            rows.append(FieldMapping(outcome=key, target=target, source=source))
    if errors:
        raise ValidationError(errors)
    if chosen:
        session.execute(delete(FieldMapping).where(FieldMapping.outcome.in_(list(chosen))))
    session.add_all(rows)
    session.flush()
    return len(rows)


__all__ = ["LEAD_SOURCES", "Lead", "fit", "mapping_of", "overrides", "save_mapping", "sources", "values_for",
           "write_values"]  # fmt: skip
