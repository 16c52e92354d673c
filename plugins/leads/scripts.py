"""Qualification scripts as data: the definition's shape, its validation, versions, YAML/JSON in and out.

A definition (``ScriptVersion.definition``; an export adds ``key``, ``name`` and ``description`` beside
``start`` and ``steps``)::

    start: greeting                      # the first step's key
    steps:
      - key: need                        # [a-z][a-z0-9_]*, unique, at most 60 characters
        title: What do they need?        # shown to the operator as the screen's heading
        text: "Ask: what made you …"     # what the operator reads out (may be empty)
        type: choice                     # see below
        options:                         # choice and yes_no: the answers offered, each with its next step
          - {value: crm, label: A CRM, next: budget}
        next: budget                     # text, number, date, action: the step after it …
        branches:                        # … or, for text/number/date, a branch on the answer, and for
          lookup: leads.existing_customer  #   lookup steps a branch on a lookup (``lookup`` required)
          cases:
            - {when: true, next: known}            # a plain value: equality
            - {when: {op: ">=", value: 3}, next: x}  # ops: = != > >= < <= in (value: a list)
          else: unknown                  # required: where every other answer goes
        actions:                         # run when the step is answered (qualification_actions keys)
          - {action: leads.set_field, params: {field: job_title, answer: role}}
      - key: qualified
        type: outcome
        result: qualify                  # qualify (optional ``outcomes``: outcome keys to tick),
                                         # disqualify (``reason``: lost|cannot_contact|not_interested|
                                         # canceled, optional ``note``), script (``script``: another key)

Types: ``choice``, ``yes_no`` (options with values ``yes`` and ``no``; the answer is a boolean),
``text``, ``number``, ``date`` (typed inputs), ``lookup`` and ``action`` (taken by the runner on its own,
never shown: a lookup picks its branch, an action step runs its actions) and ``outcome`` (the end).

Validation refuses: unknown types, a ``next`` naming no step, a cycle, a path that never reaches an
outcome, unknown lookup or action keys, duplicate keys, a ``script`` outcome that starts this very script
(or one that comes back to it). Steps nothing leads to are only warned about: an author may park a step
while reworking a script, and the runner never reaches it.

Versions: :func:`save` validates and stores a new immutable :class:`ScriptVersion` whenever the definition
changes and moves ``Script.current_version_id``; a running qualification keeps the version it started on.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.i18n import gettext as _

from . import contract
from .models import DISQUALIFY_REASONS, Script, ScriptVersion

try:  # PyYAML is present in the environment but not (yet) a declared dependency: JSON always works
    import yaml
except ImportError:  # pragma: no cover - depends on the installation
    yaml = None  # type: ignore[assignment]

CHOICE, YES_NO, TEXT, NUMBER, DATE, LOOKUP, ACTION, OUTCOME = (
    "choice",
    "yes_no",
    "text",
    "number",
    "date",
    "lookup",
    "action",
    "outcome",
)
TYPES = (CHOICE, YES_NO, TEXT, NUMBER, DATE, LOOKUP, ACTION, OUTCOME)
INPUTS = (TEXT, NUMBER, DATE)
AUTOMATIC = (LOOKUP, ACTION)
QUALIFY, DISQUALIFY, SCRIPT = "qualify", "disqualify", "script"
RESULTS = (QUALIFY, DISQUALIFY, SCRIPT)
OPS = ("=", "!=", ">", ">=", "<", "<=", "in")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
SCRIPT_KEY_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,59}$")
MAX_STEPS = 200
MAX_OPTIONS = 50
MAX_TEXT = 5000
MAX_TITLE = 200
MAX_BYTES = 512 * 1024
FORMATS = ("yaml", "json")
HEADER = ("key", "name", "description")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition: the step it is about ("" for the script), and a message."""

    step: str
    message: str
    warning: bool = False


class ScriptInvalid(ValidationError):
    """A definition that cannot be saved; ``problems`` lists each one with its step."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors: dict[str, str] = {}
        for problem in problems:
            if not problem.warning:
                key = problem.step or ""
                errors[key] = f"{errors[key]} {problem.message}" if key in errors else problem.message
        super().__init__(errors or {"": _("The script cannot be saved.")})


# -- reading a definition -----------------------------------------------------------------------------


def steps_by_key(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(s.get("key")): s for s in definition.get("steps") or () if isinstance(s, Mapping)}


def successors(step: Mapping[str, Any]) -> list[str]:
    """The step keys a step may lead to, in the order they are written."""
    found: list[str] = []
    kind = step.get("type")
    if kind in (CHOICE, YES_NO):
        found += [str(o.get("next") or "") for o in step.get("options") or () if isinstance(o, Mapping)]
    branches = step.get("branches")
    if isinstance(branches, Mapping) and kind in (*INPUTS, LOOKUP):
        found += [str(c.get("next") or "") for c in branches.get("cases") or () if isinstance(c, Mapping)]
        found.append(str(branches.get("else") or ""))
    elif kind in (*INPUTS, ACTION) and step.get("next"):
        found.append(str(step["next"]))
    return [k for k in found if k]


def referenced_scripts(definition: Mapping[str, Any]) -> set[str]:
    """Keys of the scripts a definition starts (``script`` outcomes and ``leads.start_script`` actions)."""
    found: set[str] = set()
    for step in definition.get("steps") or ():
        if not isinstance(step, Mapping):
            continue
        if step.get("type") == OUTCOME and step.get("result") == SCRIPT and step.get("script"):
            found.add(str(step["script"]))
        for action in step.get("actions") or ():
            if isinstance(action, Mapping) and action.get("action") == "leads.start_script":
                params = action.get("params") or {}
                if isinstance(params, Mapping) and params.get("script"):
                    found.add(str(params["script"]))
    return found


def matches(when: Any, value: Any) -> bool:
    """Whether an answer (or a lookup's value) ``value`` meets a case's ``when``."""
    if isinstance(when, Mapping):
        op, expected = str(when.get("op", "=")), when.get("value")
    else:
        op, expected = "=", when
    if op == "in":
        return isinstance(expected, list) and any(_same(item, value) for item in expected)
    if op in ("=", "!="):
        return _same(expected, value) == (op == "=")
    left, right = _number(value), _number(expected)
    if left is None or right is None:
        if isinstance(value, str) and isinstance(expected, str):  # ISO dates compare as text
            left, right = value, expected  # type: ignore[assignment]
        else:
            return False
    return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}.get(op, False)  # type: ignore[operator]


def _same(expected: Any, value: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return _truth(expected) == _truth(value)
    left, right = _number(expected), _number(value)
    if left is not None and right is not None:
        return left == right
    return (
        str(expected if expected is not None else "").strip().casefold()
        == str(value if value is not None else "").strip().casefold()
    )


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value or "").strip().casefold()
    return {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False, "": False}.get(text)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).replace(" ", "").replace(",", "."))
    except (TypeError, ValueError):
        return None


def branch(step: Mapping[str, Any], value: Any) -> str:
    """The next step of a step with ``branches`` for ``value``: the first case that matches, else ``else``."""
    branches = step.get("branches") or {}
    for case in branches.get("cases") or ():
        if matches(case.get("when"), value):
            return str(case.get("next") or "")
    return str(branches.get("else") or "")


def next_step(step: Mapping[str, Any], value: Any) -> str:
    """Where a step goes once answered with ``value`` ("" for an outcome)."""
    kind = step.get("type")
    if kind in (CHOICE, YES_NO):
        for option in step.get("options") or ():
            wanted = option.get("value")
            if (kind == YES_NO and _truth(wanted) == _truth(value)) or (kind == CHOICE and wanted == value):
                return str(option.get("next") or "")
        return ""
    if step.get("branches") and kind in (*INPUTS, LOOKUP):
        return branch(step, value)
    return str(step.get("next") or "")


# -- validation ---------------------------------------------------------------------------------------


def validate(
    definition: Any,
    *,
    lookups: Iterable[str] | None = None,
    actions: Mapping[str, contract.Action] | None = None,
    outcomes: Iterable[str] | None = None,
    script_key: str = "",
    script_refs: Mapping[str, set[str]] | None = None,
) -> list[Problem]:
    """Every problem of ``definition`` (errors and warnings), each naming its step.

    ``lookups``/``actions``/``outcomes`` are the keys enabled plugins offer (None: not checked);
    ``script_key`` is the script being saved and ``script_refs`` the scripts each other script starts (its
    current version), so a script that would start itself, directly or through others, is refused."""
    problems: list[Problem] = []

    def bad(step: str, message: str) -> None:
        problems.append(Problem(step, message))

    if not isinstance(definition, Mapping):
        return [Problem("", _("A script is a mapping with “start” and “steps”."))]
    steps = definition.get("steps")
    if not isinstance(steps, list) or not steps:
        return [Problem("", _("A script needs at least one step in “steps”."))]
    if len(steps) > MAX_STEPS:
        return [Problem("", _("A script has at most %(n)s steps.") % {"n": MAX_STEPS})]
    keys: list[str] = []
    for n, step in enumerate(steps, start=1):
        if not isinstance(step, Mapping):
            bad("", _("Step %(n)s is not a mapping of its fields.") % {"n": n})
            continue
        key = step.get("key")
        if not isinstance(key, str) or not KEY_RE.match(key):
            bad("", _("Step %(n)s needs a key: a lower-case letter, then letters, digits or _ (up to 60).") % {"n": n})
            continue
        if key in keys:
            bad(key, _("Two steps have the key “%(key)s”; keys must be unique.") % {"key": key})
            continue
        keys.append(key)
    if problems:
        return problems
    by_key = steps_by_key(definition)
    known_lookups = set(lookups) if lookups is not None else None
    for key, step in by_key.items():
        _check_step(key, step, by_key, known_lookups, actions, outcomes, script_key, bad, problems)
    start = definition.get("start")
    if not isinstance(start, str) or start not in by_key:
        bad("", _("“start” must name one of the steps."))
    if not any(s.get("type") == OUTCOME for s in by_key.values()):
        bad("", _("The script has no outcome step: every path must end in qualify, disqualify or another script."))
    if any(not p.warning for p in problems):
        return problems
    _check_graph(str(start), by_key, bad, problems)
    if script_key and script_refs is not None:
        _check_script_loop(script_key, referenced_scripts(definition), script_refs, bad)
    return problems


def _check_step(
    key: str,
    step: Mapping[str, Any],
    by_key: Mapping[str, Any],
    lookups: set[str] | None,
    actions: Mapping[str, contract.Action] | None,
    outcomes: Iterable[str] | None,
    script_key: str,
    bad: Any,
    problems: list[Problem],
) -> None:
    kind = step.get("type")
    if kind not in TYPES:
        bad(key, _("“%(type)s” is not a step type; use one of: %(types)s.") % {"type": kind, "types": ", ".join(TYPES)})
        return
    title = step.get("title", "")
    if not isinstance(title, str) or (kind not in AUTOMATIC and not title.strip()) or len(title) > MAX_TITLE:
        bad(key, _("Give the step a title (up to %(n)s characters).") % {"n": MAX_TITLE})
    if not isinstance(step.get("text", ""), str) or len(step.get("text", "")) > MAX_TEXT:
        bad(key, _("The text to read out is at most %(n)s characters.") % {"n": MAX_TEXT})

    def target(name: Any, where: str) -> None:
        if not isinstance(name, str) or not name:
            bad(key, _("%(where)s: choose the next step.") % {"where": where})
        elif name not in by_key:
            bad(
                key,
                _("%(where)s goes to “%(next)s”, which is not a step of this script.") % {"where": where, "next": name},
            )
        elif name == key:
            bad(key, _("%(where)s goes back to this same step (a cycle).") % {"where": where})

    if kind in (CHOICE, YES_NO):
        options = step.get("options")
        if not isinstance(options, list) or not options:
            bad(key, _("Give the answers to choose from, each with its next step."))
        elif len(options) > MAX_OPTIONS:
            bad(key, _("A step offers at most %(n)s answers.") % {"n": MAX_OPTIONS})
        else:
            values: list[Any] = []
            for n, option in enumerate(options, start=1):
                if not isinstance(option, Mapping):
                    bad(key, _("Answer %(n)s is not a mapping of value, label and next.") % {"n": n})
                    continue
                value = option.get("value")
                if kind == YES_NO:
                    value = _truth(value)
                    if value is None:
                        bad(key, _("A yes/no step's answers have the values “yes” and “no”."))
                elif not isinstance(value, str) or not value.strip() or len(value) > 60:
                    bad(key, _("Answer %(n)s needs a value (up to 60 characters).") % {"n": n})
                if value in values:
                    bad(key, _("Two answers have the value “%(value)s”.") % {"value": option.get("value")})
                values.append(value)
                if not str(option.get("label") or option.get("value") or "").strip():
                    bad(key, _("Answer %(n)s needs a label.") % {"n": n})
                target(option.get("next"), _("Answer “%(value)s”") % {"value": option.get("value")})
            if kind == YES_NO and sorted(v for v in values if v is not None) != [False, True]:
                bad(key, _("A yes/no step offers exactly the answers “yes” and “no”."))
    branches = step.get("branches")
    if kind == LOOKUP and not isinstance(branches, Mapping):
        bad(key, _("A lookup step needs branches: the lookup, its cases and where everything else goes."))
    if branches is not None and kind not in (*INPUTS, LOOKUP):
        bad(key, _("Only text, number, date and lookup steps branch; use the answers' next steps here."))
    elif isinstance(branches, Mapping):
        lookup = branches.get("lookup")
        if kind == LOOKUP:
            if not isinstance(lookup, str) or not lookup:
                bad(key, _("Choose the lookup this step branches on."))
            elif lookups is not None and lookup not in lookups:
                bad(key, _("There is no lookup “%(key)s” (is its plugin enabled?).") % {"key": lookup})
        elif lookup:
            bad(key, _("Only a lookup step branches on a lookup; this step branches on its answer."))
        cases = branches.get("cases") or []
        if not isinstance(cases, list):
            bad(key, _("“cases” is a list of cases."))
            cases = []
        for n, case in enumerate(cases, start=1):
            if not isinstance(case, Mapping) or "when" not in case:
                bad(key, _("Case %(n)s needs “when” and “next”.") % {"n": n})
                continue
            when = case["when"]
            if isinstance(when, Mapping):
                if when.get("op", "=") not in OPS:
                    bad(key, _("Case %(n)s: the comparison is one of %(ops)s.") % {"n": n, "ops": " ".join(OPS)})
                elif when.get("op") == "in" and not isinstance(when.get("value"), list):
                    bad(key, _("Case %(n)s: “in” compares with a list of values.") % {"n": n})
                elif (
                    when.get("op") in (">", ">=", "<", "<=")
                    and _number(when.get("value")) is None
                    and not (kind == DATE and isinstance(when.get("value"), str))
                ):
                    bad(key, _("Case %(n)s: compare with a number.") % {"n": n})
            target(case.get("next"), _("Case %(n)s") % {"n": n})
        target(branches.get("else"), _("“Otherwise”"))
    elif kind in (*INPUTS, ACTION):
        if not step.get("next"):
            bad(key, _("This step leads nowhere: choose its next step, so the path reaches an outcome."))
        else:
            target(step.get("next"), _("Next"))
    if kind == ACTION and not step.get("actions"):
        bad(key, _("An action step needs at least one action."))
    _check_actions(key, step.get("actions"), actions, bad)
    if kind == OUTCOME:
        _check_outcome(key, step, outcomes, script_key, bad, problems)
    elif step.get("result"):
        bad(key, _("Only an outcome step has a result."))


def _check_actions(key: str, listed: Any, known: Mapping[str, contract.Action] | None, bad: Any) -> None:
    if listed is None:
        return
    if not isinstance(listed, list):
        bad(key, _("“actions” is a list of actions."))
        return
    for n, item in enumerate(listed, start=1):
        if not isinstance(item, Mapping) or not isinstance(item.get("action"), str):
            bad(key, _("Action %(n)s needs an “action” key.") % {"n": n})
            continue
        name = item["action"]
        params = item.get("params") or {}
        if not isinstance(params, Mapping):
            bad(key, _("Action %(n)s: “params” is a mapping.") % {"n": n})
            continue
        if known is None:
            continue
        action = known.get(name)
        if action is None:
            bad(key, _("There is no action “%(key)s” (is its plugin enabled?).") % {"key": name})
            continue
        declared = {p[0]: p[2] for p in action.params}
        for param, value in params.items():
            if param not in declared:
                bad(key, _("The action “%(action)s” has no parameter “%(param)s”.") % {"action": name, "param": param})
            elif declared[param] == "int" and value not in (None, "") and _number(value) is None:
                bad(key, _("“%(param)s” of “%(action)s” is a whole number.") % {"action": name, "param": param})


def _check_outcome(
    key: str,
    step: Mapping[str, Any],
    outcomes: Iterable[str] | None,
    script_key: str,
    bad: Any,
    problems: list[Problem],
) -> None:
    if step.get("options") or step.get("next") or step.get("branches"):
        bad(key, _("An outcome ends the script: it has no next step."))
    result = step.get("result")
    if result not in RESULTS:
        bad(key, _("An outcome's result is qualify, disqualify or script."))
    elif result == DISQUALIFY and step.get("reason") not in DISQUALIFY_REASONS:
        bad(key, _("Choose why the lead is disqualified: %(reasons)s.") % {"reasons": ", ".join(DISQUALIFY_REASONS)})
    elif result == SCRIPT:
        other = step.get("script")
        if not isinstance(other, str) or not other:
            bad(key, _("Choose the script to start."))
        elif script_key and other == script_key:
            bad(key, _("This outcome starts this same script again; choose another script."))
    elif result == QUALIFY and outcomes is not None:
        chosen = step.get("outcomes") or []
        offered = set(outcomes)
        if not isinstance(chosen, list):
            bad(key, _("“outcomes” is a list of outcome keys."))
        else:
            for name in chosen:
                if name not in offered:
                    problems.append(
                        Problem(
                            key,
                            _(
                                "The outcome “%(key)s” is not offered now (is its plugin "
                                "enabled?); it is left out when qualifying."
                            )
                            % {"key": name},
                            warning=True,
                        )
                    )


def _check_graph(start: str, by_key: Mapping[str, Mapping[str, Any]], bad: Any, problems: list[Problem]) -> None:
    """Cycles anywhere, steps nothing reaches (a warning), steps from which no outcome can be reached."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(by_key, white)
    reported: set[str] = set()
    for root in [start, *by_key]:
        if colour[root] != white:
            continue
        stack: list[tuple[str, Iterable[str]]] = [(root, iter(successors(by_key[root])))]
        colour[root] = grey
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = black
                stack.pop()
            elif colour.get(child) == grey:
                if child not in reported:
                    reported.add(child)
                    trail = [k for k, _i in stack]
                    loop = [*trail[trail.index(child) :], child]
                    bad(child, _("These steps go round in a cycle: %(steps)s.") % {"steps": " → ".join(loop)})
            elif colour.get(child) == white:
                colour[child] = grey
                stack.append((child, iter(successors(by_key[child]))))
    if reported:
        return
    reached = {start}
    todo = [start]
    while todo:
        for child in successors(by_key[todo.pop()]):
            if child not in reached:
                reached.add(child)
                todo.append(child)
    for key in by_key:
        if key not in reached:
            problems.append(Problem(key, _("Nothing leads to this step; the runner never asks it."), warning=True))
    ends: dict[str, bool] = {}

    def ends_well(key: str) -> bool:  # acyclic now, so plain recursion over a memo terminates
        if key not in ends:
            step = by_key[key]
            nexts = successors(step)
            ends[key] = step.get("type") == OUTCOME or (bool(nexts) and all(ends_well(k) for k in nexts))
        return ends[key]

    for key in reached:
        if not ends_well(key) and successors(by_key[key]) == [] and by_key[key].get("type") != OUTCOME:
            bad(key, _("A path stops at this step without reaching an outcome."))


def _check_script_loop(key: str, starts: set[str], refs: Mapping[str, set[str]], bad: Any) -> None:
    seen: set[str] = set()
    todo = [(other, [key, other]) for other in sorted(starts)]
    while todo:
        other, trail = todo.pop()
        if other == key:
            bad("", _("These scripts start each other in a loop: %(trail)s.") % {"trail": " → ".join(trail)})
            return
        if other in seen:
            continue
        seen.add(other)
        todo += [(nxt, [*trail, nxt]) for nxt in sorted(refs.get(other, ()))]


def errors_of(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if not p.warning]


# -- tidy form ----------------------------------------------------------------------------------------

STEP_ORDER = (
    "key",
    "type",
    "title",
    "text",
    "options",
    "next",
    "branches",
    "actions",
    "result",
    "outcomes",
    "reason",
    "note",
    "script",
    "min",
    "max",
    "required",
)


def tidy(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The definition as it is stored and exported: keys in a fixed order, empty fields left out, text trimmed."""
    steps = []
    for step in definition.get("steps") or ():
        if not isinstance(step, Mapping):
            steps.append(step)
            continue
        clean: dict[str, Any] = {}
        for name in (*STEP_ORDER, *sorted(k for k in step if k not in STEP_ORDER)):
            value = step.get(name)
            if isinstance(value, str):
                value = value.strip() if name != "text" else value.strip("\n ")
            if value in (None, "", [], {}) and name not in ("key", "type"):
                continue
            clean[name] = copy.deepcopy(value)
        steps.append(clean)
    return {"start": definition.get("start"), "steps": steps}


# -- versions -----------------------------------------------------------------------------------------


def current(session: Session, script: Script) -> ScriptVersion | None:
    return session.get(ScriptVersion, script.current_version_id) if script.current_version_id else None


def default_script(session: Session) -> Script | None:
    return session.scalars(
        select(Script).where(Script.is_default.is_(True), Script.archived.is_(False)).order_by(Script.id).limit(1)
    ).first()


def by_key(session: Session, key: str) -> Script | None:
    return session.scalars(select(Script).where(Script.key == key)).first()


def script_refs(session: Session) -> dict[str, set[str]]:
    """Per script key, the scripts its current version starts."""
    rows = session.execute(
        select(Script.key, ScriptVersion.definition).join(ScriptVersion, ScriptVersion.id == Script.current_version_id)
    )
    return {key: referenced_scripts(definition or {}) for key, definition in rows}


def check(session: Session, host: Any, definition: Any, script_key: str = "") -> list[Problem]:
    """:func:`validate` against what enabled plugins offer now and the other scripts' current versions."""
    return validate(
        definition,
        lookups=contract.lookups(host),
        actions=contract.actions(host),
        outcomes=contract.outcomes(host),
        script_key=script_key,
        script_refs=script_refs(session),
    )


def check_header(key: Any, name: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not isinstance(key, str) or not SCRIPT_KEY_RE.match(key):
        errors["key"] = _("The key is a lower-case letter, then letters, digits, “_”, “.” or “-” (up to 60).")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors["name"] = _("Give the script a name (up to 200 characters).")
    return errors


def save(
    session: Session,
    host: Any,
    script: Script | None,
    *,
    definition: Any,
    actor_id: int | None,
    key: str | None = None,
    name: str | None = None,
    description: str | None = None,
    expected_version: int | None = None,
) -> tuple[Script, list[Problem]]:
    """Create a script (``script`` None) or save a new version of one, in the caller's transaction.

    Raises :class:`ScriptInvalid` listing every problem, or ``StaleRecord`` when someone saved the script
    after ``expected_version``; nothing is written then. Returns the script and the warnings."""
    key = (script.key if script is not None and key is None else key or "").strip()
    name = (script.name if script is not None and name is None else name or "").strip()
    errors = check_header(key, name)
    if errors:
        raise ValidationError(errors)
    if script is not None and expected_version is not None and script.version != expected_version:
        raise StaleRecord(
            _("Someone else saved this script after you opened it. Reload it, then apply your changes again.")
        )
    other = by_key(session, key)
    if other is not None and (script is None or other.id != script.id):
        raise ValidationError({"key": _("Another script has the key “%(key)s”.") % {"key": key}})
    problems = check(session, host, definition, key)
    if errors_of(problems):
        raise ScriptInvalid(problems)
    definition = tidy(definition)
    if script is None:
        script = Script(key=key, name=name, description=(description or "").strip(), version=1)
        session.add(script)
        session.flush()
    else:
        script.key, script.name = key, name
        if description is not None:
            script.description = description.strip()
        script.version = (script.version or 0) + 1
    latest = current(session, script)
    if latest is None or latest.definition != definition:
        number = (
            session.scalar(select(func.max(ScriptVersion.number)).where(ScriptVersion.script_id == script.id)) or 0
        ) + 1
        version = ScriptVersion(script_id=script.id, number=number, definition=definition, created_by_id=actor_id)
        session.add(version)
        session.flush()
        script.current_version_id = version.id
    session.flush()
    return script, [p for p in problems if p.warning]


def set_default(session: Session, script: Script) -> None:
    for other in session.scalars(select(Script).where(Script.is_default.is_(True))):
        other.is_default = False
    script.is_default = True
    script.archived = False


# -- YAML and JSON ------------------------------------------------------------------------------------


def yaml_available() -> bool:
    return yaml is not None


def document(script: Script, definition: Mapping[str, Any]) -> dict[str, Any]:
    """The export: the script's key, name and description, then the definition's ``start`` and ``steps``."""
    return {"key": script.key, "name": script.name, "description": script.description or "", **tidy(definition)}


def dump(doc: Mapping[str, Any], fmt: str) -> str:
    if fmt == "yaml":
        if yaml is None:
            raise ValidationError(_("YAML is not available on this server; export as JSON."))
        return yaml.safe_dump(dict(doc), allow_unicode=True, sort_keys=False, width=100)
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def load(text: str | bytes) -> dict[str, Any]:
    """A script document from YAML or JSON text (JSON is YAML, so either parses); a clear message otherwise."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise ValidationError(_("The file is larger than %(n)s KB.") % {"n": MAX_BYTES // 1024})
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(_("The file is not UTF-8 text.")) from None
    if len(text) > MAX_BYTES:
        raise ValidationError(_("The text is larger than %(n)s KB.") % {"n": MAX_BYTES // 1024})
    if not text.strip():
        raise ValidationError(_("The file is empty."))
    try:
        data = json.loads(text)
    except ValueError as json_error:
        if yaml is None:
            raise ValidationError(_("This is not valid JSON: %(error)s") % {"error": json_error}) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = _(" (line %(line)s)") % {"line": mark.line + 1} if mark is not None else ""
            raise ValidationError(_("This is neither valid YAML nor JSON%(where)s.") % {"where": where}) from None
    if not isinstance(data, dict):
        raise ValidationError(_("A script file holds a mapping with key, name, start and steps."))
    return data


def split(doc: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header: key, name, description; definition: start, steps) of an imported document."""
    header = {name: doc.get(name) for name in HEADER}
    return header, {"start": doc.get("start"), "steps": doc.get("steps")}


def import_document(
    session: Session, host: Any, doc: Mapping[str, Any], actor_id: int | None
) -> tuple[Script, list[Problem]]:
    """Create the script the document names, or save it as a new version of the script with its key."""
    header, definition = split(doc)
    key = header.get("key")
    existing = by_key(session, key) if isinstance(key, str) else None
    description = header.get("description") if isinstance(header.get("description"), str) else ""
    return save(
        session,
        host,
        existing,
        definition=definition,
        actor_id=actor_id,
        key=key,
        name=header.get("name"),
        description=description,
    )
