"""Qualification histories for the demo: the example script (``scripts_examples/inbound_b2b.yaml``) stored
as a script, and runs of it on seeded leads whose answers walk its branches to the end the lead came to
(qualified leads to the "qualified" outcome, disqualified ones to a disqualifying outcome, whose reason and
note the lead then takes), or stop half-way on open leads (resumable runs). Skipped, with nothing written,
when the scripts service or the example is not there."""

from __future__ import annotations

import datetime as dt
import logging
import random
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from .models import ABANDONED, FINISHED, RUNNING, Script, ScriptVersion

log = logging.getLogger(__name__)

EXAMPLE = Path(__file__).resolve().parent / "scripts_examples" / "inbound_b2b.yaml"
TEXTS = {"en": {"role": ("Sales director", "Owner", "Head of procurement", "IT manager"),
                "decision_maker": ("The CEO signs; the finance director checks the price.",),
                "current_process": ("Spreadsheets and a shared mailbox.", "An old desktop CRM nobody updates.",
                                    "Paper notebooks and phone calls.")},
         "uk": {"role": ("Комерційний директор", "Власник", "Керівник закупівель", "ІТ-менеджер"),
                "decision_maker": ("Підписує директор; фінансовий директор перевіряє ціну.",),
                "current_process": ("Таблиці та спільна поштова скринька.", "Стара CRM, яку ніхто не оновлює.",
                                    "Паперові записники та дзвінки.")}}  # fmt: skip
BUDGETS = (15_000, 30_000, 60_000, 90_000, 120_000, 250_000, 400_000)


def _scripts() -> Any:
    try:
        from . import scripts
    except ImportError:
        return None
    needed = ("load", "split", "steps_by_key", "next_step", "yaml_available")
    return scripts if all(hasattr(scripts, name) for name in needed) else None


def example_version(session: Session, host: Any, actor_id: int | None, now: dt.datetime) -> tuple[int, dict] | None:
    """(version id, definition) of the example script, stored now (through the scripts service when a
    plugin host is at hand, else as its rows); None when it cannot be."""
    scripts = _scripts()
    if scripts is None or not EXAMPLE.exists() or not scripts.yaml_available():
        log.info("leads seed: no example script; qualification histories skipped")
        return None
    doc = scripts.load(EXAMPLE.read_text(encoding="utf-8"))
    header, definition = scripts.split(doc)
    if host is not None and hasattr(scripts, "import_document"):
        script, problems = scripts.import_document(session, host, doc, actor_id)
        if any(getattr(p, "level", "error") == "error" for p in problems or ()) and script is None:
            return None
    elif (existing := scripts.by_key(session, header["key"])) is not None and existing.current_version_id:
        script = existing  # shipped by the migration as the default script: the seed's runs use it
    else:
        script = existing or Script(key=header["key"], name=header.get("name") or header["key"],
                                    description=header.get("description") or "", is_default=True,
                                    created_at=now, updated_at=now)  # fmt: skip
        session.add(script)
        session.flush()
        tidy = getattr(scripts, "tidy", lambda d: d)
        version = ScriptVersion(script_id=script.id, number=1, definition=tidy(definition), created_at=now,
                                created_by_id=actor_id)  # fmt: skip
        session.add(version)
        session.flush()
        script.current_version_id = version.id
    session.flush()
    if script.current_version_id is None:
        return None
    version = session.get(ScriptVersion, script.current_version_id)
    return (version.id, dict(version.definition)) if version is not None else None


def _answer(step: dict[str, Any], rng: random.Random, lang: str, scripts: Any) -> Any:
    kind = step.get("type")
    if kind in ("choice", "yes_no"):
        return rng.choice(step.get("options") or [{"value": ""}]).get("value")
    if kind == "number":
        return rng.choice(BUDGETS)
    if kind == "date":
        return (dt.date.today() + dt.timedelta(days=rng.randrange(20, 120))).isoformat()
    if kind == "text":
        return rng.choice(TEXTS[lang].get(step.get("key", ""), ("—",)))
    if kind == "lookup":
        return rng.random() < 0.15
    return None


def walk(
    definition: dict[str, Any], rng: random.Random, want: str | None, lang: str
) -> tuple[list[str], dict, dict] | None:
    """(path, answers, last step) of a run ending in an outcome whose result is ``want`` ("qualify",
    "disqualify"), or stopped half-way when ``want`` is None; None if no walk found one."""
    scripts = _scripts()
    steps = scripts.steps_by_key(definition)
    for _attempt in range(60):
        path: list[str] = []
        answers: dict[str, Any] = {}
        key = definition.get("start")
        while key in steps and len(path) < 60:
            step = steps[key]
            path.append(key)
            if step.get("type") == "outcome":
                break
            value = _answer(step, rng, lang, scripts)
            if step.get("type") != "action":
                answers[key] = value
            key = scripts.next_step(step, value)
        last = steps.get(path[-1], {}) if path else {}
        if want is None:
            if len(path) < 3:
                continue
            cut = rng.randrange(2, len(path))
            kept = path[:cut]
            return kept, {k: v for k, v in answers.items() if k in kept[:-1]}, steps[kept[-1]]
        if last.get("type") == "outcome" and last.get("result") == want:
            return path, answers, last
    return None


def plan_runs(leads: list[dict[str, Any]], version: tuple[int, dict], rng: random.Random, language: str,
              now: dt.datetime) -> list[tuple[int, dict[str, Any]]]:  # fmt: skip
    """(index of the lead, qualification row without its lead id) for some of the lead rows, before they
    are inserted: a disqualified lead whose run ends in a disqualifying outcome takes its reason and note."""
    version_id, definition = version
    lang = "uk" if language == "uk" else "en"
    made = []
    for index, lead in enumerate(leads):
        status = lead["status"]
        share = {"qualified": 0.75, "disqualified": 0.5, "contacted": 0.3}.get(status, 0.0)
        if rng.random() >= share:
            continue
        want = {"qualified": "qualify", "disqualified": "disqualify"}.get(status)
        found = walk(definition, rng, want, lang)
        if found is None:
            continue
        path, answers, last = found
        if want == "disqualify" and last.get("reason"):
            lead["disqualify_reason"] = last["reason"]
            lead["disqualify_note"] = str(last.get("note") or "")
        started = lead["created_at"] + dt.timedelta(hours=1 + rng.random() * 30)
        finished = lead["closed_at"] if want else None
        if finished is not None and finished <= started:
            started = finished - dt.timedelta(minutes=12)
        started = min(started, now - dt.timedelta(minutes=3))
        run_status = FINISHED if want else (RUNNING if rng.random() < 0.8 else ABANDONED)
        made.append((index, {"script_version_id": version_id, "parent_id": None, "status": run_status,
                             "step": path[-1], "path": path, "answers": answers, "outcome": want or "",
                             "started_at": started, "started_by_id": lead["owner_user_id"] or lead["closed_by_id"],
                             "updated_at": finished or started + dt.timedelta(minutes=8),
                             "finished_at": finished if want else (started if run_status == ABANDONED else None),
                             "version": 1}))  # fmt: skip
    return made
