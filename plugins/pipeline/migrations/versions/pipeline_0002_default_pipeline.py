"""the default sales pipeline and the quote and order numbering (data)

Revision ID: pipeline_0002
Revises: pipeline_0001
Create Date: 2026-11-28 01:20:00

A data migration: the pipeline every deployment starts with, its stages stored in English and translated
where they are shown (``stages.BUILTIN_STAGES`` lists the same names for the translation catalogue; a test
keeps the two in step), and the gap-free sequences quotes and orders are numbered from. The rows are
written out here, not imported from the plugin, so the migration stays what it was when it ran.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "pipeline_0002"
down_revision: str | Sequence[str] | None = "pipeline_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PIPELINE = "Sales"
# name, probability, forecast category, outcome, expected days
STAGES = [
    ("Initial contact", 10, "pipeline", "open", 7),
    ("Interest confirmed", 20, "pipeline", "open", 14),
    ("Qualified", 35, "pipeline", "open", 14),
    ("Negotiation", 50, "best_case", "open", 21),
    ("Commitment", 85, "commit", "open", 14),
    ("Won", 100, "won", "won", None),
    ("Lost", 0, "lost", "lost", None),
]
SEQUENCES = [("pipeline.quote", "Quotes", "Q"), ("pipeline.order", "Orders", "SO")]

pipelines = sa.table(
    "pipeline_pipeline",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("position", sa.Integer),
    sa.column("is_default", sa.Boolean),
    sa.column("archived", sa.Boolean),
    sa.column("created_at", sa.DateTime),
)
stages = sa.table(
    "pipeline_stage",
    sa.column("pipeline_id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("position", sa.Integer),
    sa.column("probability", sa.Integer),
    sa.column("forecast_category", sa.String),
    sa.column("outcome", sa.String),
    sa.column("expected_days", sa.Integer),
    sa.column("archived", sa.Boolean),
)
sequences = sa.table(
    "core_sequence",
    sa.column("key", sa.String),
    sa.column("label", sa.String),
    sa.column("prefix", sa.String),
    sa.column("digits", sa.Integer),
    sa.column("per_year", sa.Boolean),
    sa.column("year", sa.Integer),
    sa.column("next_value", sa.BigInteger),
)


def upgrade() -> None:
    bind = op.get_bind()
    pipeline_id = bind.execute(
        pipelines.insert()
        .values(name=PIPELINE, position=10, is_default=True, archived=False, created_at=sa.func.current_timestamp())
        .returning(pipelines.c.id)
    ).scalar_one()
    op.bulk_insert(stages, [
        {"pipeline_id": pipeline_id, "name": name, "position": (index + 1) * 10, "probability": probability,
         "forecast_category": category, "outcome": outcome, "expected_days": days, "archived": False}
        for index, (name, probability, category, outcome, days) in enumerate(STAGES)
    ])  # fmt: skip
    existing = set(bind.execute(sa.select(sequences.c.key)).scalars())
    op.bulk_insert(sequences, [
        {"key": key, "label": label, "prefix": prefix, "digits": 5, "per_year": True, "year": None, "next_value": 1}
        for key, label, prefix in SEQUENCES if key not in existing
    ])  # fmt: skip


def downgrade() -> None:
    op.execute(sequences.delete().where(sequences.c.key.in_([key for key, _label, _prefix in SEQUENCES])))
    op.execute(stages.delete())
    op.execute(pipelines.delete())
