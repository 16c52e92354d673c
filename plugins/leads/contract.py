"""Leads' side of its hook contract: the plain-data answers of ``lead_channels``,
``qualification_outcomes``, ``qualification_lookups`` and ``qualification_actions`` (see
:mod:`.hookspecs`) read into dataclasses, each malformed answer reported with the plugin that gave it.

Only enabled plugins are asked; a plugin disabled at run time drops out of the next call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

INSIDE, AFTER = "inside", "after"
LOOKUP_TYPES = ("bool", "number", "text")
PARAM_TYPES = ("text", "int", "user", "team", "script", "field")


@dataclass(frozen=True)
class Channel:
    key: str
    label: str
    description: str = ""
    plugin: str = ""


@dataclass(frozen=True)
class Outcome:
    key: str
    label: str
    kind: str
    create: Callable[[Any], int]
    fields: Callable[[Any], list[tuple[str, str]]] = lambda _session: []
    defaults: Mapping[str, str] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    default: bool = False
    plugin: str = ""


@dataclass(frozen=True)
class Lookup:
    key: str
    label: str
    type: str
    run: Callable[[Any, dict[str, Any]], Any]
    plugin: str = ""


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    run: Callable[[Any, dict[str, Any]], None]
    params: tuple[tuple[str, str, str], ...] = ()
    phase: str = INSIDE
    plugin: str = ""


@dataclass
class Context:
    """What outcomes and actions receive (attributes, so answering plugins need nothing from leads)."""

    session: Any
    actor: Any
    lead: dict[str, Any]
    answers: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    created: dict[str, tuple[str, int]] = field(default_factory=dict)
    lead_id: int | None = None
    kinds: Any = None


class ContractError(ValueError):
    """A plugin answered a leads hook with something leads cannot use."""


def _answers(host: Any, hook_name: str) -> list[tuple[str, dict[str, Any]]]:
    """``(plugin name, item)`` for every item every enabled plugin returns from ``hook_name``."""
    hook = getattr(host.pm.hook, hook_name, None)
    if hook is None:
        return []
    found: list[tuple[str, dict[str, Any]]] = []
    for impl in hook.get_hookimpls():
        if not host.is_enabled(impl.plugin_name):
            continue
        try:
            items = impl.function() or []
        except Exception:  # one plugin's broken answer must not take the lead screens down
            log.exception("plugin %s failed answering %s", impl.plugin_name, hook_name)
            continue
        found.extend((impl.plugin_name, item) for item in items)
    return sorted(found, key=lambda pair: pair[0] != "leads")  # leads' own first, others as registered


def _read(plugin: str, hook_name: str, item: Any, build: Callable[[dict[str, Any]], Any]) -> Any:
    data = dict(item) if isinstance(item, Mapping) else dict(vars(item))
    key = str(data.get("key", ""))
    if "." not in key:
        raise ContractError(f"plugin {plugin!r} answered {hook_name} with key {key!r}: keys are namespaced, "
                            f"like '{plugin}.name'")  # fmt: skip
    try:
        return build({**data, "plugin": plugin})
    except (TypeError, ValueError) as exc:
        raise ContractError(f"plugin {plugin!r} answered {hook_name} with {key!r}: {exc}") from exc


def _collect(host: Any, hook_name: str, build: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    items: dict[str, Any] = {}
    for plugin, item in _answers(host, hook_name):
        try:
            made = _read(plugin, hook_name, item, build)
        except ContractError:
            log.exception("leads contract")
            continue
        items.setdefault(made.key, made)
    return items


def _channel(data: dict[str, Any]) -> Channel:
    return Channel(str(data["key"]), str(data["label"]), str(data.get("description", "")), data["plugin"])


def _outcome(data: dict[str, Any]) -> Outcome:
    if not callable(data.get("create")):
        raise ValueError("'create' must be a callable create(ctx) -> record id")
    return Outcome(
        key=str(data["key"]), label=str(data["label"]), kind=str(data["kind"]), create=data["create"],
        fields=data.get("fields") or (lambda _session: []), defaults=dict(data.get("defaults") or {}),
        after=tuple(data.get("after") or ()), default=bool(data.get("default", False)), plugin=data["plugin"],
    )  # fmt: skip


def _lookup(data: dict[str, Any]) -> Lookup:
    if data.get("type") not in LOOKUP_TYPES:
        raise ValueError(f"'type' must be one of {', '.join(LOOKUP_TYPES)}")
    if not callable(data.get("run")):
        raise ValueError("'run' must be a callable run(session, lead) -> value")
    return Lookup(str(data["key"]), str(data["label"]), data["type"], data["run"], data["plugin"])


def _action(data: dict[str, Any]) -> Action:
    if data.get("phase", INSIDE) not in (INSIDE, AFTER):
        raise ValueError("'phase' must be 'inside' or 'after'")
    if not callable(data.get("run")):
        raise ValueError("'run' must be a callable run(ctx, params)")
    params = tuple(tuple(p) for p in data.get("params") or ())
    if any(len(p) != 3 or p[2] not in PARAM_TYPES for p in params):
        raise ValueError(f"'params' are (name, label, type) with type one of {', '.join(PARAM_TYPES)}")
    return Action(str(data["key"]), str(data["label"]), data["run"], params, data.get("phase", INSIDE),  # type: ignore[arg-type]
                  data["plugin"])  # fmt: skip


def channels(host: Any) -> dict[str, Channel]:
    """Every enabled plugin's capture channels by key, leads' own first."""
    return _collect(host, "lead_channels", _channel)


def outcomes(host: Any) -> dict[str, Outcome]:
    """What a qualified lead can become right now, by key (pipeline's opportunity only while it is on)."""
    return _collect(host, "qualification_outcomes", _outcome)


def lookups(host: Any) -> dict[str, Lookup]:
    return _collect(host, "qualification_lookups", _lookup)


def actions(host: Any) -> dict[str, Action]:
    return _collect(host, "qualification_actions", _action)


def outcome_order(chosen: list[Outcome]) -> list[Outcome]:
    """``chosen`` ordered so each outcome comes after those it names in ``after`` (organisation, then
    person, then opportunity); names not chosen are ignored."""
    by_key = {o.key: o for o in chosen}
    done: list[Outcome] = []
    seen: set[str] = set()

    def visit(outcome: Outcome, trail: tuple[str, ...]) -> None:
        if outcome.key in seen or outcome.key in trail:
            return
        for before in outcome.after:
            if before in by_key:
                visit(by_key[before], (*trail, outcome.key))
        seen.add(outcome.key)
        done.append(outcome)

    for outcome in chosen:
        visit(outcome, ())
    return done
