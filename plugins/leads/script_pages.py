"""Managing qualification scripts: the list, the step editor, the raw YAML/JSON editor, versions, export,
import, archive and the default script.

The step editor is one form over the whole definition: steps as fieldsets (``s<i>.<field>``; answers
``s<i>.o<j>.*``, branch cases ``s<i>.b<j>.*``, actions ``s<i>.a<j>.*``). Buttons named ``op`` add, remove and
move steps, answers, cases and actions by re-rendering the form from what was posted (nothing is saved
until "Save"), so it works with and without JavaScript; HTMX swaps only the editor. Saving validates the
whole script and shows each problem next to its step; a valid save is a new version.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.handlers import db, form_dict, go_to, runtime, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id
from voronka.core.models import Team, User
from voronka.core.security.markers import requires
from voronka.core.templating import render

from . import contract, runner, scripts
from .kinds import MANAGE
from .models import DISQUALIFY_REASONS, Qualification, Script, ScriptVersion
from .runner_pages import REASON_LABELS, RESULT_LABELS

PAGE = "/leads/scripts"
TYPE_LABELS = {
    "choice": N_("Choice"),
    "yes_no": N_("Yes / no"),
    "text": N_("Text"),
    "number": N_("Number"),
    "date": N_("Date"),
    "lookup": N_("Lookup (automatic)"),
    "action": N_("Actions (automatic)"),
    "outcome": N_("Outcome (end)"),
}
OP_LABELS = {"=": "=", "!=": "≠", ">": ">", ">=": "≥", "<": "<", "<=": "≤", "in": N_("one of")}
FIELD = re.compile(r"^s(\d{1,3})\.(?:(o|b|a)(\d{1,2})\.)?(p\.)?([a-z_]{1,40})$")
MAX_FORM_STEPS = scripts.MAX_STEPS


def starter(key: str) -> dict[str, Any]:
    """A new script's first version: one question and two outcomes, to edit from."""
    return {
        "start": "interest",
        "steps": [
            {
                "key": "interest",
                "type": "yes_no",
                "title": _("Interest"),
                "text": _("Are you looking for a solution now?"),
                "options": [
                    {"value": "yes", "label": _("Yes"), "next": "qualified"},
                    {"value": "no", "label": _("No"), "next": "not_interested"},
                ],
            },
            {"key": "qualified", "type": "outcome", "title": _("Qualified"), "result": "qualify"},
            {
                "key": "not_interested",
                "type": "outcome",
                "title": _("Not interested"),
                "result": "disqualify",
                "reason": "not_interested",
            },
        ],
    }


# -- the form <-> the definition ------------------------------------------------------------------------


def _scalar(text: str) -> Any:
    """A branch value typed in the editor: true/false, a number, or the text."""
    raw = text.strip()
    if raw.lower() in ("true", "yes"):
        return True
    if raw.lower() in ("false", "no"):
        return False
    number = scripts._number(raw) if raw else None
    if number is not None and re.fullmatch(r"-?[\d\s.,]+", raw):
        return int(number) if number.is_integer() else number
    return raw


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    return "" if value is None else str(value)


def read_form(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """The definition the editor's fields describe (the ``start`` and ``steps`` in the order posted)."""
    steps: dict[int, dict[str, Any]] = {}
    parts: dict[tuple[int, str, int], dict[str, Any]] = {}
    params: dict[tuple[int, int], dict[str, Any]] = {}
    outcomes: dict[int, list[str]] = {}
    renamed: dict[str, str] = {}
    start = ""
    for name, value in items:
        if not isinstance(value, str):
            continue
        if name == "start":
            start = value.strip()
            continue
        match = FIELD.match(name)
        if match is None:
            continue
        index, part, sub, is_param, field = match.groups()
        i = int(index)
        if i >= MAX_FORM_STEPS:
            continue
        step = steps.setdefault(i, {})
        if part is None:
            if field == "outcomes":
                outcomes.setdefault(i, []).append(value)
            else:
                step[field] = value
        elif is_param:
            params.setdefault((i, int(sub)), {})[field] = value
        else:
            parts.setdefault((i, part, int(sub)), {})[field] = value
    definition: dict[str, Any] = {"start": start, "steps": []}
    for i in sorted(steps):
        raw = steps[i]
        kind = raw.get("type", "choice")
        step: dict[str, Any] = {
            "key": raw.get("key", "").strip(),
            "type": kind,
            "title": raw.get("title", ""),
            "text": raw.get("text", ""),
        }
        options = [parts[k] for k in sorted(parts) if k[0] == i and k[1] == "o"]
        cases = [parts[k] for k in sorted(parts) if k[0] == i and k[1] == "b"]
        actions = [(k[2], parts[k]) for k in sorted(parts) if k[0] == i and k[1] == "a"]
        nxt = raw.get("next", "").strip()
        if kind in (scripts.CHOICE, scripts.YES_NO):
            step["options"] = [
                {
                    "value": o.get("value", "").strip(),
                    "label": o.get("label", "").strip(),
                    "next": o.get("next", "").strip(),
                }
                for o in options
            ]
        elif kind in (*scripts.INPUTS, scripts.LOOKUP):
            read_cases = [_case(c) for c in cases if c.get("next") or c.get("value")]
            if kind == scripts.LOOKUP or read_cases or raw.get("lookup"):
                branches: dict[str, Any] = {"cases": read_cases, "else": nxt}
                if kind == scripts.LOOKUP:
                    branches = {"lookup": raw.get("lookup", ""), **branches}
                step["branches"] = branches
            else:
                step["next"] = nxt
            if kind == scripts.NUMBER:
                for bound in ("min", "max"):
                    if raw.get(bound, "").strip():
                        step[bound] = _scalar(raw[bound])
            if kind in scripts.INPUTS and raw.get("required") == "0":
                step["required"] = False
        elif kind == scripts.ACTION:
            step["next"] = nxt
        elif kind == scripts.OUTCOME:
            step["result"] = raw.get("result", "qualify")
            if step["result"] == scripts.DISQUALIFY:
                step["reason"] = raw.get("reason", "")
                step["note"] = raw.get("note", "")
            elif step["result"] == scripts.SCRIPT:
                step["script"] = raw.get("script", "")
            else:
                step["outcomes"] = outcomes.get(i, [])
        listed = []
        for j, action in actions:
            given = {k: v for k, v in params.get((i, j), {}).items() if v.strip()}
            listed.append({"action": action.get("action", ""), "params": given})
        if listed:
            step["actions"] = listed
        definition["steps"].append(step)
        was = raw.get("was", "").strip()
        if was and step["key"] and was != step["key"]:
            renamed[was] = step["key"]
    return rename(definition, renamed) if renamed else definition


def rename(definition: dict[str, Any], renamed: dict[str, str]) -> dict[str, Any]:
    """Point every ``next``, branch and ``start`` that named a renamed step at its new key."""
    if definition.get("start") in renamed:
        definition["start"] = renamed[definition["start"]]
    for step in definition["steps"]:
        for holder in [step, *step.get("options", []), *(step.get("branches") or {}).get("cases", [])]:
            if holder.get("next") in renamed:
                holder["next"] = renamed[holder["next"]]
        branches = step.get("branches")
        if branches and branches.get("else") in renamed:
            branches["else"] = renamed[branches["else"]]
    return definition


def _case(raw: dict[str, Any]) -> dict[str, Any]:
    op = raw.get("op", "=")
    text = raw.get("value", "")
    if op == "in":
        value: Any = [_scalar(v) for v in text.split(",") if v.strip()]
    else:
        value = _scalar(text)
    when = value if op == "=" else {"op": op, "value": value}
    return {"when": when, "next": raw.get("next", "").strip()}


def editor_steps(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """Each step with what the editor's inputs show (the next step of inputs and lookups in one picker)."""
    shown = []
    for step in definition.get("steps") or []:
        if not isinstance(step, dict):
            continue
        branches = step.get("branches") if isinstance(step.get("branches"), dict) else {}
        cases = []
        for case in branches.get("cases") or []:
            when = case.get("when") if isinstance(case, dict) else None
            op, value = (when.get("op", "="), when.get("value")) if isinstance(when, dict) else ("=", when)
            cases.append(
                {"op": op, "value": _shown(value), "next": case.get("next", "") if isinstance(case, dict) else ""}
            )
        shown.append(
            {
                **step,
                "next_pick": step.get("next") or branches.get("else", ""),
                "lookup": branches.get("lookup", ""),
                "cases": cases,
                "options": step.get("options") if isinstance(step.get("options"), list) else [],
                "actions": [a for a in step.get("actions") or [] if isinstance(a, dict)],
            }
        )
    return shown


def apply_op(definition: dict[str, Any], op: str) -> dict[str, Any]:
    """Add, remove or move a step, answer, case or action, as the editor's buttons ask."""
    steps: list[dict[str, Any]] = definition["steps"]
    parts = op.split(":")
    name = parts[0]
    numbers = [int(p) for p in parts[1:] if p.isdigit()]
    if name == "add_step":
        taken = {s.get("key") for s in steps}
        n = len(steps) + 1
        while f"step_{n}" in taken:
            n += 1
        kind = parts[1] if len(parts) > 1 and parts[1] in scripts.TYPES else scripts.CHOICE
        new: dict[str, Any] = {"key": f"step_{n}", "type": kind, "title": "", "text": ""}
        if kind in (scripts.CHOICE, scripts.YES_NO):
            new["options"] = (
                [{"value": "yes", "label": _("Yes"), "next": ""}, {"value": "no", "label": _("No"), "next": ""}]
                if kind == scripts.YES_NO
                else [{"value": "", "label": "", "next": ""}]
            )
        if kind == scripts.OUTCOME:
            new["result"] = scripts.QUALIFY
        steps.append(new)
        return definition
    if not numbers or numbers[0] >= len(steps):
        return definition
    i = numbers[0]
    step = steps[i]
    if name == "remove":
        steps.pop(i)
    elif name in ("up", "down"):
        j = i - 1 if name == "up" else i + 1
        if 0 <= j < len(steps):
            steps[i], steps[j] = steps[j], steps[i]
    elif name == "add_option":
        step.setdefault("options", []).append({"value": "", "label": "", "next": ""})
    elif name == "add_case":
        branches = step.setdefault("branches", {"cases": [], "else": step.pop("next", "")})
        branches.setdefault("cases", []).append({"when": "", "next": ""})
    elif name == "add_action":
        step.setdefault("actions", []).append({"action": "", "params": {}})
    elif name in ("remove_option", "remove_case", "remove_action") and len(numbers) > 1:
        listed = (
            step.get("options")
            if name == "remove_option"
            else (step.get("branches") or {}).get("cases")
            if name == "remove_case"
            else step.get("actions")
        ) or []
        if numbers[1] < len(listed):
            listed.pop(numbers[1])
    return definition


# -- pages ----------------------------------------------------------------------------------------------


def _script_or_404(session: Session, raw: Any) -> Script:
    script_id = parse_id(raw)
    found = session.get(Script, script_id) if script_id else None
    if found is None:
        raise HTTPException(404, _("There is no such script."))
    return found


def _grouped(problems: list[scripts.Problem]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    warnings: dict[str, list[str]] = {}
    for problem in problems:
        (warnings if problem.warning else errors).setdefault(problem.step, []).append(problem.message)
    return errors, warnings


def _choices(request: Request, session: Session) -> dict[str, Any]:
    host = runtime(request).host
    return {
        "types": [(t, _(TYPE_LABELS[t])) for t in scripts.TYPES],
        "ops": [(o, _(OP_LABELS[o])) for o in scripts.OPS],
        "lookups": [(k, _(v.label), v.type) for k, v in contract.lookups(host).items()],
        "actions": {
            k: {"label": _(v.label), "phase": v.phase, "params": [(p[0], _(p[1]), p[2]) for p in v.params]}
            for k, v in contract.actions(host).items()
        },
        "outcomes": [(k, _(v.label)) for k, v in contract.outcomes(host).items()],
        "reasons": [(r, _(REASON_LABELS[r])) for r in DISQUALIFY_REASONS],
        "results": [(r, _(RESULT_LABELS[r])) for r in scripts.RESULTS],
        "script_keys": list(
            session.execute(select(Script.key, Script.name).where(Script.archived.is_(False)).order_by(Script.name))
        ),
        "teams": list(session.scalars(select(Team.name).order_by(Team.name))),
        "usernames": list(
            session.scalars(select(User.username).where(User.active.is_(True)).order_by(User.username).limit(500))
        ),
        "yaml": scripts.yaml_available(),
    }


def _versions(session: Session, script: Script) -> list[dict[str, Any]]:
    uses = dict(
        session.execute(
            select(Qualification.script_version_id, func.count())
            .join(ScriptVersion, ScriptVersion.id == Qualification.script_version_id)
            .where(ScriptVersion.script_id == script.id)
            .group_by(Qualification.script_version_id)
        ).all()
    )
    rows = session.execute(
        select(ScriptVersion.id, ScriptVersion.number, ScriptVersion.created_at, User.display_name)
        .outerjoin(User, User.id == ScriptVersion.created_by_id)
        .where(ScriptVersion.script_id == script.id)
        .order_by(ScriptVersion.number.desc())
    )
    return [
        {
            "id": r[0],
            "number": r[1],
            "at": r[2],
            "by": r[3] or "",
            "runs": uses.get(r[0], 0),
            "current": r[0] == script.current_version_id,
        }
        for r in rows
    ]


def _editor(
    request: Request,
    script: Script,
    definition: dict[str, Any],
    *,
    problems: list[scripts.Problem] | None = None,
    message: str = "",
    status_code: int = 200,
    raw_text: str | None = None,
    saved: bool = False,
    meta: dict[str, Any] | None = None,
    tab: str = "steps",
    checked: str = "",
) -> Response:
    session = db(request)
    errors, warnings = _grouped(problems or [])
    version = scripts.current(session, script)
    if raw_text is None and version is not None:
        raw_text = scripts.dump(
            scripts.document(script, version.definition), "yaml" if scripts.yaml_available() else "json"
        )
    steps = editor_steps(definition)
    keys = [s.get("key") for s in steps if s.get("key")]
    ctx = {
        "script": script,
        "meta": meta or {"name": script.name, "key": script.key, "description": script.description},
        "definition": definition,
        "steps": steps,
        "keys": keys,
        "errors": errors,
        "warnings": warnings,
        "message": message,
        "saved": saved,
        "raw_text": raw_text or "",
        "versions": _versions(session, script),
        "current_number": version.number if version else 0,
        "tab": tab,
        "checked": checked,
        **_choices(request, session),
    }
    return render(request, "leads/script_edit.html", ctx, block="editor", status_code=status_code)


@requires(MANAGE)
async def script_list(request: Request, **extra: Any) -> Response:
    status_code = extra.pop("status_code", 200)
    session = db(request)
    runner.remember(runtime(request))
    counts = dict(
        session.execute(select(ScriptVersion.script_id, func.count()).group_by(ScriptVersion.script_id)).all()
    )
    numbers = dict(
        session.execute(
            select(ScriptVersion.id, ScriptVersion.number).join(Script, Script.current_version_id == ScriptVersion.id)
        ).all()
    )
    running = dict(
        session.execute(
            select(ScriptVersion.script_id, func.count())
            .join(Qualification, Qualification.script_version_id == ScriptVersion.id)
            .where(Qualification.status == "running")
            .group_by(ScriptVersion.script_id)
        ).all()
    )
    rows = [
        {
            "script": s,
            "versions": counts.get(s.id, 0),
            "number": numbers.get(s.current_version_id, 0),
            "running": running.get(s.id, 0),
        }
        for s in session.scalars(select(Script).order_by(Script.archived, Script.name))
    ]
    ctx = {
        "rows": rows,
        "form": {},
        "errors": {},
        "import_errors": [],
        "extra_css": ["scripts.css"],
        "yaml": scripts.yaml_available(),
        **extra,
    }
    return render(request, "leads/script_list.html", ctx, block="scripts", status_code=status_code)


@requires(MANAGE)
async def script_create(request: Request) -> Response:
    form = await form_dict(request)
    name, key = (form.get("name") or "").strip(), (form.get("key") or "").strip()
    if not key and name:
        key = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:60] or ""
        if key and not key[0].isalpha():
            key = f"s_{key}"[:60]
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            script, _warnings = scripts.save(
                session,
                rt.host,
                None,
                definition=starter(key),
                actor_id=user(request).id,
                key=key,
                name=name,
                description=form.get("description", ""),
            )
            script_id = script.id
    except ValidationError as exc:
        return await script_list(request, form={"name": name, "key": key}, errors=exc.errors, status_code=400)
    return go_to(request, f"{PAGE}/{script_id}")


@requires(MANAGE)
async def script_edit(request: Request) -> Response:
    session = db(request)
    runner.remember(runtime(request))
    script = _script_or_404(session, request.path_params["script_id"])
    version = scripts.current(session, script)
    definition = dict(version.definition) if version else {"start": "", "steps": []}
    problems = scripts.check(session, runtime(request).host, definition, script.key) if version else []
    return _editor(request, script, definition, problems=problems, saved=request.query_params.get("saved") == "1")


@requires(MANAGE)
async def script_save(request: Request) -> Response:
    """The step editor's every button: re-render after add/remove/move, or validate and save."""
    session = db(request)
    script = _script_or_404(session, request.path_params["script_id"])
    async with request.form() as form:
        items = list(form.multi_items())
    fields = {k: v for k, v in items if isinstance(v, str)}
    definition = read_form(items)
    op = fields.get("op", "save")
    meta = {
        "name": fields.get("name", script.name),
        "key": fields.get("key", script.key),
        "description": fields.get("description", script.description),
    }
    if op == "add_step":
        op = f"add_step:{fields.get('new_type', 'choice')}"
    if op == "validate":
        problems = scripts.check(session, runtime(request).host, definition, str(meta["key"]))
        message = "" if scripts.errors_of(problems) else _("No problems found. Save to make it the current version.")
        return _editor(request, script, definition, meta=meta, problems=problems, checked=message)
    if op != "save":
        definition = apply_op(definition, op)
        if not definition.get("start") and definition["steps"]:
            definition["start"] = definition["steps"][0].get("key", "")
        return _editor(request, script, definition, meta=meta)
    return _store(request, script, definition, meta, fields.get("version"))


def _store(
    request: Request,
    script: Script,
    definition: dict[str, Any],
    meta: dict[str, Any],
    version: Any,
    *,
    raw_text: str | None = None,
    tab: str = "steps",
) -> Response:
    rt = runtime(request)
    expected = parse_id(version)
    try:
        with write_transaction(rt.sessions) as tx:
            target = tx.get(Script, script.id)
            saved, warnings = scripts.save(
                tx,
                rt.host,
                target,
                definition=definition,
                actor_id=user(request).id,
                key=meta.get("key"),
                name=meta.get("name"),
                description=meta.get("description"),
                expected_version=expected,
            )
    except scripts.ScriptInvalid as exc:
        return _editor(
            request,
            script,
            definition,
            problems=exc.problems,
            meta=meta,
            status_code=400,
            raw_text=raw_text,
            message=_("Nothing was saved. Fix what is marked below."),
            tab=tab,
        )
    except StaleRecord as exc:
        return _editor(
            request, script, definition, meta=meta, status_code=409, message=str(exc), raw_text=raw_text, tab=tab
        )
    except ValidationError as exc:
        return _editor(
            request,
            script,
            definition,
            meta=meta,
            status_code=400,
            raw_text=raw_text,
            tab=tab,
            message=" ".join(exc.errors.values()),
        )
    db(request).rollback()  # end the request's read snapshot: the new version was committed after it began
    fresh = db(request).get(Script, saved.id) or script
    current = scripts.current(db(request), fresh)
    return _editor(
        request, fresh, dict(current.definition) if current else definition, problems=warnings, saved=True, tab=tab
    )


@requires(MANAGE)
async def script_raw(request: Request) -> Response:
    """Save the script from the raw YAML/JSON text (the power users' editor)."""
    session = db(request)
    script = _script_or_404(session, request.path_params["script_id"])
    fields = await form_dict(request)
    text = fields.get("text", "")
    try:
        doc = scripts.load(text)
    except ValidationError as exc:
        current = scripts.current(session, script)
        return _editor(
            request,
            script,
            dict(current.definition) if current else {"steps": []},
            status_code=400,
            message=" ".join(exc.errors.values()),
            raw_text=text,
            tab="raw",
        )
    header, definition = scripts.split(doc)
    meta = {
        "name": header.get("name") or script.name,
        "key": header.get("key") or script.key,
        "description": header.get("description") if isinstance(header.get("description"), str) else script.description,
    }
    return _store(request, script, definition, meta, fields.get("version"), raw_text=text, tab="raw")


@requires(MANAGE)
async def script_export(request: Request) -> Response:
    session = db(request)
    script = _script_or_404(session, request.path_params["script_id"])
    fmt = request.query_params.get("format", "yaml")
    if fmt not in scripts.FORMATS:
        raise HTTPException(400, _("Export as yaml or json."))
    number = request.query_params.get("version")
    if number:
        wanted = parse_id(number)
        version = session.scalars(
            select(ScriptVersion).where(ScriptVersion.script_id == script.id, ScriptVersion.number == (wanted or 0))
        ).first()
    else:
        version = scripts.current(session, script)
    if version is None:
        raise HTTPException(404, _("There is no such version of this script."))
    try:
        body = scripts.dump(scripts.document(script, version.definition), fmt)
    except ValidationError as exc:
        raise HTTPException(400, " ".join(exc.errors.values())) from None
    media = "application/yaml" if fmt == "yaml" else "application/json"
    filename = f"{script.key}-v{version.number}.{fmt}"
    return Response(
        body,
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@requires(MANAGE)
async def script_import(request: Request) -> Response:
    text: str | bytes = ""
    async with request.form() as form:
        upload = form.get("file")
        if isinstance(upload, UploadFile) and upload.filename:
            text = await upload.read(scripts.MAX_BYTES + 1)
        elif isinstance(form.get("text"), str):
            text = str(form.get("text"))
    rt = runtime(request)
    try:
        doc = scripts.load(text)
        with write_transaction(rt.sessions) as session:
            script, _warnings = scripts.import_document(session, rt.host, doc, user(request).id)
            script_id = script.id
    except scripts.ScriptInvalid as exc:
        listed = [f"{p.step}: {p.message}" if p.step else p.message for p in exc.problems if not p.warning]
        return await script_list(request, import_errors=listed, status_code=400)
    except ValidationError as exc:
        return await script_list(request, import_errors=list(exc.errors.values()), status_code=400)
    return go_to(request, f"{PAGE}/{script_id}?saved=1")


@requires(MANAGE)
async def script_state(request: Request) -> Response:
    """Make a script the default, archive it or bring it back."""
    form = await form_dict(request)
    action = form.get("action")
    with write_transaction(runtime(request).sessions) as session:
        script = _script_or_404(session, request.path_params["script_id"])
        if action == "default":
            if script.current_version_id is None:
                raise HTTPException(409, _("Save a version of the script before making it the default."))
            scripts.set_default(session, script)
        elif action == "archive":
            script.archived = True
            script.is_default = False
        elif action == "restore":
            script.archived = False
        else:
            raise HTTPException(400, _("Unknown action."))
        script.version = (script.version or 0) + 1
    return go_to(request, PAGE)


routes = [
    Route("/scripts", script_list, methods=["GET"], name="scripts"),
    Route("/scripts", script_create, methods=["POST"], name="script_create"),
    Route("/scripts/import", script_import, methods=["POST"], name="script_import"),
    Route("/scripts/{script_id:int}", script_edit, methods=["GET"], name="script_edit"),
    Route("/scripts/{script_id:int}", script_save, methods=["POST"], name="script_save"),
    Route("/scripts/{script_id:int}/raw", script_raw, methods=["POST"], name="script_raw"),
    Route("/scripts/{script_id:int}/export", script_export, methods=["GET"], name="script_export"),
    Route("/scripts/{script_id:int}/state", script_state, methods=["POST"], name="script_state"),
]
