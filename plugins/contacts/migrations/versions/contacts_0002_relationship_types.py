"""built-in relationship types (data)

Revision ID: contacts_0002
Revises: contacts_0001
Create Date: 2026-11-27 19:00:00

A data migration: the relationship types every deployment starts with, stored in English and translated
where they are shown. The rows are written out here (not imported from the plugin) so the migration stays
what it was when it ran. ``relationship_types.BUILTIN_TYPES`` lists the same roles for the translation
catalogue; a test keeps the two in step.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "contacts_0002"
down_revision: str | Sequence[str] | None = "contacts_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

P, ORG, ANY = "person", "organisation", "any"
# key, category, a_role (what A is to B), b_role (what B is to A; "" = one-sided), a_kinds, b_kinds,
# hierarchy, influence
TYPES = [
    ("employment", "business", "Employee", "Employer", P, ORG, False, False),
    ("colleague", "business", "Colleague", "Colleague", P, P, False, False),
    ("subsidiary", "business", "Subsidiary", "Parent company", ORG, ORG, True, False),
    ("decision_maker", "business", "Decision maker", "", P, ORG, False, True),
    ("influencer", "business", "Influencer", "", P, ORG, False, True),
    ("champion", "business", "Champion", "", P, ORG, False, True),
    ("partner", "business", "Partner", "Partner", ORG, ORG, False, False),
    ("supplier", "business", "Supplier", "Customer", ORG, ORG, False, False),
    ("contact_person", "business", "Contact person", "Represented party", P, ANY, False, False),
    ("spouse", "family", "Spouse", "Spouse", P, P, False, False),
    ("child", "family", "Child", "Parent", P, P, False, False),
    ("sibling", "family", "Sibling", "Sibling", P, P, False, False),
    ("friend", "social", "Friend", "Friend", P, P, False, False),
    ("acquaintance", "social", "Acquaintance", "Acquaintance", P, P, False, False),
    ("referral", "social", "Referral", "Referrer", P, ANY, False, False),
]

types_table = sa.table(
    "contacts_relationship_type",
    sa.column("id", sa.Integer),
    sa.column("key", sa.String),
    sa.column("category", sa.String),
    sa.column("a_role", sa.String),
    sa.column("b_role", sa.String),
    sa.column("a_kinds", sa.String),
    sa.column("b_kinds", sa.String),
    sa.column("hierarchy", sa.Boolean),
    sa.column("influence", sa.Boolean),
    sa.column("builtin", sa.Boolean),
    sa.column("archived", sa.Boolean),
    sa.column("position", sa.Integer),
)
relationships_table = sa.table("contacts_relationship", sa.column("type_id", sa.Integer))
KEYS = [row[0] for row in TYPES]


def upgrade() -> None:
    rows = [
        {"key": key, "category": category, "a_role": a_role, "b_role": b_role, "a_kinds": a_kinds,
         "b_kinds": b_kinds, "hierarchy": hierarchy, "influence": influence, "builtin": True, "archived": False,
         "position": (index + 1) * 10}
        for index, (key, category, a_role, b_role, a_kinds, b_kinds, hierarchy, influence) in enumerate(TYPES)
    ]  # fmt: skip
    op.bulk_insert(types_table, rows)


def downgrade() -> None:
    builtin = sa.select(types_table.c.id).where(types_table.c.key.in_(KEYS), types_table.c.builtin.is_(True))
    op.execute(relationships_table.delete().where(relationships_table.c.type_id.in_(builtin)))
    op.execute(types_table.delete().where(types_table.c.key.in_(KEYS), types_table.c.builtin.is_(True)))
