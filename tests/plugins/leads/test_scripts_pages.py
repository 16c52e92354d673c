"""Managing scripts: versions, the step editor, the raw editor, export and import (YAML and JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from voronka.plugins.leads import scripts
from voronka.plugins.leads.models import Script, ScriptVersion

from .scripts_fixtures import save_script

EXAMPLE = Path(scripts.__file__).parent / "scripts_examples" / "inbound_b2b.yaml"


def simple() -> dict[str, Any]:
    return {"start": "need", "steps": [
        {"key": "need", "type": "choice", "title": "Need", "text": "What do you need?",
         "options": [{"value": "crm", "label": "CRM", "next": "yes"},
                     {"value": "none", "label": "Nothing", "next": "no"}]},
        {"key": "yes", "type": "outcome", "title": "Qualified", "result": "qualify"},
        {"key": "no", "type": "outcome", "title": "No", "result": "disqualify", "reason": "not_interested"},
    ]}  # fmt: skip


def versions(app: Any, script_id: int) -> list[int]:
    with app.state.voronka.sessions() as session:
        return list(session.scalars(select(ScriptVersion.number).where(ScriptVersion.script_id == script_id)
                                    .order_by(ScriptVersion.number)))  # fmt: skip


def current(app: Any, script_id: int) -> tuple[Script, dict[str, Any]]:
    with app.state.voronka.sessions() as session:
        script = session.get(Script, script_id)
        version = session.get(ScriptVersion, script.current_version_id)
        session.expunge(script)
        return script, version.definition


def test_saving_makes_versions_only_when_the_definition_changes(app: Any) -> None:
    script_id = save_script(app, simple())
    save_script(app, simple())
    assert versions(app, script_id) == [1]
    changed = simple()
    changed["steps"][0]["text"] = "What would you like to solve?"
    save_script(app, changed)
    assert versions(app, script_id) == [1, 2]
    assert current(app, script_id)[1]["steps"][0]["text"] == "What would you like to solve?"


def test_the_list_creates_a_script_and_opens_its_editor(app: Any, client: Any) -> None:
    client.login("admin")
    assert client.get("/leads/scripts").status_code == 200
    made = client.post("/leads/scripts", data={"name": "Renewal call"})
    assert made.status_code == 200 and "/leads/scripts/" in str(made.url)
    assert "Save as a new version" in made.text and 'value="renewal_call"' in made.text
    refused = client.post("/leads/scripts", data={"name": "", "key": "Bad Key"})
    assert refused.status_code == 400 and "Give the script a name" in refused.text
    client.login("sales")
    assert client.get("/leads/scripts").status_code == 403


def editor_form(script: Script, definition: dict[str, Any]) -> dict[str, str]:
    """The fields the editor posts for ``definition`` (what a browser would send)."""
    form = {"name": script.name, "key": script.key, "description": "", "version": str(script.version),
            "start": definition["start"]}  # fmt: skip
    for i, step in enumerate(definition["steps"]):
        p = f"s{i}."
        form |= {p + "key": step["key"], p + "type": step["type"], p + "title": step.get("title", ""),
                 p + "text": step.get("text", "")}  # fmt: skip
        for j, option in enumerate(step.get("options", [])):
            form |= {
                f"{p}o{j}.value": option["value"],
                f"{p}o{j}.label": option["label"],
                f"{p}o{j}.next": option["next"],
            }
        if step["type"] == "outcome":
            form[p + "result"] = step["result"]
            form[p + "reason"] = step.get("reason", "")
    return form


def test_the_step_editor_adds_steps_and_shows_problems_next_to_the_step(app: Any, client: Any) -> None:
    script_id = save_script(app, simple())
    script, definition = current(app, script_id)
    client.login("admin")
    page = client.get(f"/leads/scripts/{script_id}")
    assert page.status_code == 200 and 'id="step-need"' in page.text
    form = editor_form(script, definition)
    added = client.hx_post(f"/leads/scripts/{script_id}", data={**form, "op": "add_step", "new_type": "number"})
    assert added.status_code == 200 and 'name="s3.key" value="step_4"' in added.text
    moved = client.hx_post(f"/leads/scripts/{script_id}", data={**form, "op": "add_option:0"})
    assert 'name="s0.o2.value"' in moved.text
    dangling = {**form, "s0.o0.next": "nowhere", "op": "save"}
    refused = client.hx_post(f"/leads/scripts/{script_id}", data=dangling)
    assert refused.status_code == 400 and "Nothing was saved" in refused.text
    assert "goes to “nowhere”, which is not a step of this script" in refused.text
    assert versions(app, script_id) == [1]
    form["s0.text"] = "Tell me about your project."
    saved = client.hx_post(f"/leads/scripts/{script_id}", data={**form, "op": "save"})
    assert saved.status_code == 200 and "Saved as version 2" in saved.text
    assert current(app, script_id)[1]["steps"][0]["text"] == "Tell me about your project."
    stale = client.hx_post(f"/leads/scripts/{script_id}", data={**form, "op": "save", "s0.title": "Again"})
    assert stale.status_code == 409 and "Someone else saved this script" in stale.text


def test_the_editor_refuses_a_cycle_made_in_the_raw_text(app: Any, client: Any) -> None:
    script_id = save_script(app, simple())
    script, _definition = current(app, script_id)
    client.login("admin")
    looped = simple()
    looped["steps"].append({"key": "again", "type": "text", "title": "Again", "next": "need"})
    looped["steps"][0]["options"][1]["next"] = "again"
    text = yaml.safe_dump({"key": "main", "name": "Main", **looped})
    refused = client.hx_post(f"/leads/scripts/{script_id}/raw", data={"text": text, "version": script.version})
    assert refused.status_code == 400 and "cycle" in refused.text
    junk = client.hx_post(f"/leads/scripts/{script_id}/raw", data={"text": "steps: [", "version": script.version})
    assert junk.status_code == 400 and "neither valid YAML nor JSON" in junk.text
    assert versions(app, script_id) == [1]


def test_export_and_import_round_trip_in_yaml_and_json(app: Any, client: Any) -> None:
    client.login("admin")
    imported = client.post("/leads/scripts/import", files={"file": ("inbound_b2b.yaml", EXAMPLE.read_bytes())})
    assert imported.status_code == 200, imported.text
    with app.state.voronka.sessions() as session:
        script = scripts.by_key(session, "inbound_b2b")
        assert script is not None and script.name == "Inbound B2B qualification"
        script_id = script.id
    original = current(app, script_id)[1]
    for fmt, parse in (("yaml", yaml.safe_load), ("json", json.loads)):
        exported = client.get(f"/leads/scripts/{script_id}/export?format={fmt}")
        assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
        doc = parse(exported.text)
        assert doc["key"] == "inbound_b2b" and scripts.split(doc)[1] == original
        again = client.post("/leads/scripts/import", files={"file": (f"again.{fmt}", exported.content)})
        assert again.status_code == 200
    assert versions(app, script_id) == [1]  # the same definition back: no new version
    old = client.get(f"/leads/scripts/{script_id}/export?format=json&version=1")
    assert old.status_code == 200
    assert client.get(f"/leads/scripts/{script_id}/export?format=xml").status_code == 400
    assert client.get(f"/leads/scripts/{script_id}/export?version=7").status_code == 404


def test_a_bad_import_says_what_is_wrong_and_writes_nothing(app: Any, client: Any) -> None:
    client.login("admin")
    bad = {"key": "broken", "name": "Broken", **simple()}
    bad["steps"][0]["options"][0]["next"] = "gone"
    refused = client.post("/leads/scripts/import", files={"file": ("broken.json", json.dumps(bad).encode())})
    assert refused.status_code == 400 and "Nothing was imported" in refused.text and "gone" in refused.text
    junk = client.post("/leads/scripts/import", files={"file": ("x.yaml", b"\x00\xff not text")})
    assert junk.status_code == 400
    with app.state.voronka.sessions() as session:
        assert scripts.by_key(session, "broken") is None


def test_default_and_archive(app: Any, client: Any) -> None:
    first = save_script(app, simple(), key="first", name="First")
    second = save_script(app, simple(), key="second", name="Second", default=False)
    client.login("admin")
    assert client.post(f"/leads/scripts/{second}/state", data={"action": "default"}).status_code == 200
    assert current(app, second)[0].is_default and not current(app, first)[0].is_default
    client.post(f"/leads/scripts/{second}/state", data={"action": "archive"})
    archived = current(app, second)[0]
    assert archived.archived and not archived.is_default
    assert client.post(f"/leads/scripts/{second}/state", data={"action": "fly"}).status_code == 400
    assert client.get("/leads/scripts/999999").status_code == 404


def test_the_editor_retypes_moves_and_removes_steps_without_saving(app: Any, client: Any) -> None:
    script_id = save_script(app, simple())
    script, definition = current(app, script_id)
    client.login("admin")
    form = editor_form(script, definition)
    retyped = client.hx_post(f"/leads/scripts/{script_id}", data={**form, "s2.result": "script", "op": "refresh"})
    assert retyped.status_code == 200 and 'name="s2.script"' in retyped.text and 'name="s2.reason"' not in retyped.text
    moved = client.hx_post(f"/leads/scripts/{script_id}", data={**form, "op": "down:0"})
    assert 'name="s0.key" value="yes"' in moved.text and 'name="s1.key" value="need"' in moved.text
    removed = client.hx_post(f"/leads/scripts/{script_id}", data={**form, "op": "remove:2"})
    assert 'name="s2.key"' not in removed.text
    assert versions(app, script_id) == [1]


def test_renaming_a_step_repoints_what_led_to_it_and_check_does_not_save(app: Any, client: Any) -> None:
    script_id = save_script(app, simple())
    script, definition = current(app, script_id)
    client.login("admin")
    form = {**editor_form(script, definition), "s1.was": "yes", "s1.key": "won", "s0.was": "need"}
    checked = client.hx_post(f"/leads/scripts/{script_id}", data={**form, "op": "validate"})
    assert checked.status_code == 200 and "No problems found" in checked.text
    assert versions(app, script_id) == [1]
    saved = client.hx_post(f"/leads/scripts/{script_id}", data={**form, "op": "save"})
    assert saved.status_code == 200
    steps = {s["key"]: s for s in current(app, script_id)[1]["steps"]}
    assert "won" in steps and steps["need"]["options"][0]["next"] == "won"
