"""the default qualification script (data)

Revision ID: leads_0002
Revises: leads_0001
Create Date: 2026-11-28 05:20:00

A data migration: every deployment starts with one qualification script, so "Start script" works on the
first lead — the inbound B2B script shipped in ``scripts_examples/inbound_b2b.yaml`` (an existing-customer
branch, role, authority, need, budget, timeline), stored as version 1 and made the default. Admins edit it
or replace it at /leads/scripts. Nothing is written when the deployment already has a script by that key.
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
import yaml
from alembic import op

revision: str = "leads_0002"
down_revision: str | Sequence[str] | None = "leads_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXAMPLE = Path(__file__).resolve().parents[2] / "scripts_examples" / "inbound_b2b.yaml"

scripts = sa.table(
    "leads_script",
    sa.column("id", sa.Integer),
    sa.column("key", sa.String),
    sa.column("name", sa.String),
    sa.column("description", sa.Text),
    sa.column("current_version_id", sa.Integer),
    sa.column("is_default", sa.Boolean),
    sa.column("archived", sa.Boolean),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
    sa.column("version", sa.Integer),
)
versions = sa.table(
    "leads_script_version",
    sa.column("id", sa.Integer),
    sa.column("script_id", sa.Integer),
    sa.column("number", sa.Integer),
    sa.column("definition", sa.JSON),
    sa.column("created_at", sa.DateTime),
)


def upgrade() -> None:
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    bind = op.get_bind()
    if bind.execute(sa.select(scripts.c.id).where(scripts.c.key == doc["key"])).first() is not None:
        return
    now = sa.func.current_timestamp()
    script_id = bind.execute(
        scripts.insert().values(key=doc["key"], name=doc["name"], description=(doc.get("description") or "").strip(),
                                is_default=True, archived=False, created_at=now, updated_at=now, version=1)
        .returning(scripts.c.id)
    ).scalar_one()  # fmt: skip
    version_id = bind.execute(
        versions.insert().values(script_id=script_id, number=1, created_at=now,
                                 definition={"start": doc["start"], "steps": doc["steps"]})
        .returning(versions.c.id)
    ).scalar_one()  # fmt: skip
    bind.execute(scripts.update().where(scripts.c.id == script_id).values(current_version_id=version_id))


def downgrade() -> None:
    bind = op.get_bind()
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    found = bind.execute(sa.select(scripts.c.id).where(scripts.c.key == doc["key"])).scalar()
    if found is None:
        return
    used = bind.execute(
        sa.text("SELECT 1 FROM leads_qualification q JOIN leads_script_version v ON v.id = q.script_version_id "
                "WHERE v.script_id = :s LIMIT 1"), {"s": found},
    ).first()  # fmt: skip
    if used is not None:
        return  # qualifications ran on it: their answers keep pointing at its versions
    bind.execute(scripts.update().where(scripts.c.id == found).values(current_version_id=None))
    bind.execute(versions.delete().where(versions.c.script_id == found))
    bind.execute(scripts.delete().where(scripts.c.id == found))
