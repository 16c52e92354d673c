"""party city key: search by city on the party row

Revision ID: contacts_0003
Revises: contacts_0002
Create Date: 2026-11-27 22:30:00

Lists searched by city read ``(kind, city_key, id)`` on the party row (and the owner- and team-led
indexes like the names' for a viewer who sees their own records) instead of joining every address in
the city (a people search for "Київ" walked the organisations' addresses first: 160–280 ms on PostgreSQL
with a million parties) or testing ``city`` as typed (no index without ``kind``: a sequential scan). The
key is ``search_key(city)`` cut to the column's length, as ``city_keys.city_key`` computes it.

Existing rows are filled in batches of ids: each batch reads its distinct cities, folds each once, and
updates the batch's rows in one UPDATE (``CASE city WHEN … THEN key``; one per 500 distinct cities). The
indexes are built after the fill and replace ``(kind, city, id)``, which only the old search read; then the
planner's statistics are refreshed where the database keeps them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voronka.core.types
from voronka.core.search_keys import search_key

revision: str = "contacts_0003"
down_revision: str | Sequence[str] | None = "contacts_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_MAX = 120
INDEXES = {
    "ix_contacts_party_kind_city_key": ["kind", "city_key", "id"],
    # a viewer who sees their own (and their queues') records reads these, as for names
    "ix_contacts_party_owner_kind_city": ["owner_user_id", "kind", "city_key", "id"],
    "ix_contacts_party_team_kind_city": ["owner_team_id", "kind", "city_key", "id"],
}
BATCH = 20_000
CITIES_PER_UPDATE = 500

party = sa.table("contacts_party", sa.column("id", sa.Integer), sa.column("city", sa.String),
                 sa.column("city_key", sa.String))  # fmt: skip


def fill_city_keys(conn: sa.Connection, batch: int = BATCH) -> int:
    """Write ``city_key`` for every party with a city, ``batch`` ids at a time; the rows updated."""
    low, high = conn.execute(sa.select(sa.func.min(party.c.id), sa.func.max(party.c.id))).one()
    if low is None:
        return 0
    updated = 0
    for start in range(low, high + 1, batch):
        in_batch = sa.and_(party.c.id >= start, party.c.id < start + batch)
        cities = conn.scalars(sa.select(party.c.city).where(in_batch, party.c.city != "").distinct()).all()
        keys = {city: search_key(city)[:KEY_MAX].rstrip() for city in cities}
        keys = {city: key for city, key in keys.items() if key}
        names = sorted(keys)
        for at in range(0, len(names), CITIES_PER_UPDATE):  # one pass over the batch's rows, in practice
            some = {city: keys[city] for city in names[at : at + CITIES_PER_UPDATE]}
            done = conn.execute(party.update().where(in_batch, party.c.city.in_(list(some)))
                                .values(city_key=sa.case(some, value=party.c.city)))  # fmt: skip
            updated += done.rowcount or 0
    return updated


def upgrade() -> None:
    op.add_column(
        "contacts_party",
        sa.Column("city_key", voronka.core.types.SearchKey(length=KEY_MAX), server_default="", nullable=False),
    )
    fill_city_keys(op.get_bind())
    op.drop_index("ix_contacts_party_kind_city", table_name="contacts_party")
    for name, columns in INDEXES.items():
        op.create_index(name, "contacts_party", columns, unique=False)
    refresh_statistics(op.get_bind())


def refresh_statistics(conn: sa.Connection) -> None:
    """Planner statistics for the new column and index, where the database keeps them already: without
    them the first searches by city are planned on guesses until autovacuum or ``PRAGMA optimize`` runs."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE contacts_party")
    elif conn.dialect.name == "sqlite":
        analysed = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
        if analysed is not None:  # the new indexes' scans; a never-analysed database stays on the defaults
            for name in INDEXES:
                conn.exec_driver_sql(f"ANALYZE {name}")


def downgrade() -> None:
    # plain ALTERs, never a batch copy: on SQLite a copied party table would be dropped, and with foreign
    # keys on, dropping it deletes every address, contact point and relationship that points at it
    for name in INDEXES:
        op.drop_index(name, table_name="contacts_party")
    op.create_index("ix_contacts_party_kind_city", "contacts_party", ["kind", "city", "id"], unique=False)
    op.drop_column("contacts_party", "city_key")
