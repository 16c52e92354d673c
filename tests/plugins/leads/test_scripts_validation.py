"""Validation of qualification script definitions (plugins/leads/scripts.py): no database needed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from voronka.plugins.leads import contract, scripts
from voronka.plugins.leads.script_actions import own_actions

EXAMPLE = Path(scripts.__file__).parent / "scripts_examples" / "inbound_b2b.yaml"
LOOKUPS = ("leads.existing_customer", "leads.previous_leads", "leads.company_known")
ACTIONS = {a["key"]: contract._action({**a, "plugin": "leads"}) for a in own_actions()}


def good() -> dict[str, Any]:
    return {"start": "known", "steps": [
        {"key": "known", "type": "lookup", "branches": {"lookup": "leads.existing_customer",
                                                        "cases": [{"when": True, "next": "done"}], "else": "need"}},
        {"key": "need", "type": "choice", "title": "Need", "text": "What do you need?",
         "options": [{"value": "crm", "label": "CRM", "next": "budget"},
                     {"value": "none", "label": "Nothing", "next": "no"}]},
        {"key": "budget", "type": "number", "title": "Budget",
         "branches": {"cases": [{"when": {"op": ">=", "value": 1000}, "next": "done"}], "else": "no"},
         "actions": [{"action": "leads.set_field", "params": {"field": "message", "answer": "budget"}}]},
        {"key": "done", "type": "outcome", "title": "Qualified", "result": "qualify"},
        {"key": "no", "type": "outcome", "title": "No", "result": "disqualify", "reason": "not_interested"},
    ]}  # fmt: skip


def check(definition: Any, **kw: Any) -> list[scripts.Problem]:
    return scripts.validate(definition, lookups=LOOKUPS, actions=ACTIONS, **kw)


def errors(definition: Any, **kw: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for problem in check(definition, **kw):
        if not problem.warning:
            found[problem.step] = f"{found.get(problem.step, '')} {problem.message}".strip()
    return found


def test_a_good_script_has_no_problems() -> None:
    assert check(good()) == []


def test_the_example_script_is_valid_and_realistic() -> None:
    doc = scripts.load(EXAMPLE.read_text(encoding="utf-8"))
    header, definition = scripts.split(doc)
    assert header["key"] == "inbound_b2b"
    assert errors(definition, outcomes=("leads.person", "leads.organisation", "pipeline.opportunity")) == {}
    kinds = {s["type"] for s in definition["steps"]}
    assert {"lookup", "choice", "yes_no", "text", "number", "action", "outcome"} <= kinds
    assert {s["key"] for s in definition["steps"]} >= {"budget", "authority", "need", "timeline"}


def test_a_dangling_branch_is_refused_at_its_step() -> None:
    definition = good()
    definition["steps"][2]["branches"]["cases"][0]["next"] = "nowhere"
    found = errors(definition)
    assert "budget" in found and "nowhere" in found["budget"]


def test_a_dangling_option_and_a_missing_next_are_refused() -> None:
    definition = good()
    definition["steps"][1]["options"][0]["next"] = "gone"
    definition["steps"][1]["options"][1]["next"] = ""
    found = errors(definition)
    assert "gone" in found["need"] and "choose the next step" in found["need"]


def test_a_cycle_is_refused_naming_its_steps() -> None:
    definition = good()
    definition["steps"][2]["branches"]["else"] = "need"  # budget → need → budget
    found = errors(definition)
    assert any("cycle" in message and "need" in message and "budget" in message for message in found.values())


def test_a_step_pointing_at_itself_is_a_cycle() -> None:
    definition = good()
    definition["steps"][1]["options"][0]["next"] = "need"
    assert "cycle" in errors(definition)["need"]


def test_a_path_that_never_reaches_an_outcome_is_refused() -> None:
    definition = good()
    definition["steps"].append({"key": "note", "type": "text", "title": "Anything else?"})
    definition["steps"][1]["options"][1]["next"] = "note"
    assert "outcome" in errors(definition)["note"]


def test_a_script_without_any_outcome_is_refused() -> None:
    definition = {"start": "a", "steps": [{"key": "a", "type": "text", "title": "A", "next": "b"},
                                          {"key": "b", "type": "text", "title": "B", "next": "a"}]}  # fmt: skip
    assert "outcome" in errors(definition)[""]


@pytest.mark.parametrize(
    ("change", "step", "words"),
    [
        (lambda d: d["steps"][1].update(type="slider"), "need", "not a step type"),
        (lambda d: d["steps"][0]["branches"].update(lookup="crm.nothing"), "known", "no lookup"),
        (lambda d: d["steps"][2]["actions"].append({"action": "x.fly"}), "budget", "no action"),
        (lambda d: d["steps"][2]["actions"][0]["params"].update(colour="red"), "budget", "no parameter"),
        (lambda d: d["steps"][4].update(reason="bored"), "no", "disqualified"),
        (lambda d: d["steps"][3].update(next="need"), "done", "no next step"),
        (lambda d: d["steps"][1].update(branches={"cases": [], "else": "done"}), "need", "Only text"),
    ],
)
def test_each_problem_gets_a_clear_message_at_its_step(change: Any, step: str, words: str) -> None:
    definition = good()
    change(definition)
    found = errors(definition)
    assert step in found and words in found[step], found


def test_duplicate_keys_and_bad_keys_are_refused() -> None:
    definition = good()
    definition["steps"].append(copy.deepcopy(definition["steps"][3]))
    assert "unique" in errors(definition)["done"]
    definition = good()
    definition["steps"][1]["key"] = "Need!"
    assert "key" in errors(definition)[""]


def test_a_script_outcome_may_not_start_the_same_script_or_loop_back() -> None:
    definition = good()
    definition["steps"][4] = {"key": "no", "type": "outcome", "title": "Other", "result": "script", "script": "main"}
    assert "same script" in errors(definition, script_key="main")["no"]
    definition["steps"][4]["script"] = "renewal"
    assert errors(definition, script_key="main", script_refs={"renewal": {"upsell"}, "upsell": set()}) == {}
    looped = errors(definition, script_key="main", script_refs={"renewal": {"upsell"}, "upsell": {"main"}})
    assert "main → renewal → upsell → main" in looped[""]


def test_unreachable_steps_are_a_warning_not_a_refusal() -> None:
    definition = good()
    definition["steps"].append({"key": "parked", "type": "outcome", "title": "Parked", "result": "qualify"})
    problems = check(definition)
    assert [p.step for p in problems if p.warning] == ["parked"] and not scripts.errors_of(problems)


def test_junk_is_refused_without_an_exception() -> None:
    for junk in (None, [], "text", {"steps": "x"}, {"steps": [1, 2]}, {"start": "a", "steps": [{"key": "a"}]}):
        assert scripts.errors_of(check(junk))


def test_branches_compare_numbers_booleans_lists_and_text() -> None:
    step = {"type": "number", "branches": {"cases": [{"when": {"op": ">=", "value": 100}, "next": "big"},
                                                     {"when": {"op": "in", "value": [1, 2]}, "next": "tiny"}],
                                           "else": "other"}}  # fmt: skip
    assert scripts.next_step(step, 150) == "big"
    assert scripts.next_step(step, 2) == "tiny"
    assert scripts.next_step(step, 50) == "other"
    assert scripts.matches(True, True) and not scripts.matches(True, False) and scripts.matches("Yes", True)
    assert scripts.matches({"op": "!=", "value": "crm"}, "erp")


def test_yaml_and_json_round_trip_keep_the_definition() -> None:
    definition = scripts.tidy(good())
    doc = {"key": "main", "name": "Main", "description": "", **definition}
    for fmt in scripts.FORMATS:
        again = scripts.load(scripts.dump(doc, fmt))
        assert scripts.split(again)[1] == definition


@pytest.mark.parametrize("text", ["", "key: [unclosed", "- just\n- a list\n", b"\xff\xfe\x00junk"])
def test_a_bad_file_gives_a_message(text: Any) -> None:
    with pytest.raises(scripts.ValidationError):
        scripts.load(text)


def test_the_runner_reads_typed_answers_and_says_what_is_wrong() -> None:
    from voronka.plugins.leads.runner import parse

    number = {"type": "number", "min": 0, "max": 1_000_000}
    assert parse(number, "12 500") == 12500 and parse(number, "12,5") == 12.5
    for bad in ("lots", "-3", "2000000", "", "nan"):
        with pytest.raises(scripts.ValidationError):
            parse(number, bad)
    assert parse({"type": "date"}, "2026-03-31") == "2026-03-31"
    with pytest.raises(scripts.ValidationError):
        parse({"type": "date"}, "31.03.2026")
    assert parse({"type": "yes_no"}, "no") is False
    assert parse({"type": "choice", "options": [{"value": "crm"}]}, "crm") == "crm"
    with pytest.raises(scripts.ValidationError):
        parse({"type": "choice", "options": [{"value": "crm"}]}, "erp")
    assert parse({"type": "text", "required": False}, "  ") is None
