"""Contacts' records on core's bulk path for new records (:mod:`voronka.core.imports_bulk`): an import batch
of people, the organisations it creates and the employment ties it adds go in as one executemany each.

A party's ``before_save`` (``points``) queues the contact-point and address rows it wants, and a flush
listener writes them once the party has an id; the bulk path has no ORM flush, so :func:`parties_written`
writes the queued rows of the parties it inserted, the rows ``points.sync`` would write for new parties.
Relationships need nothing at the flush: their rules run in ``before_save`` and see the batch's earlier
ties in the session, where the bulk path keeps them until the insert. The city key follows the
city through the model's ``before_insert`` listener, which the bulk path calls too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from voronka.core.imports_bulk import bulk_creates
from voronka.core.seeding import insert_many

from . import points
from .models import Address, ContactPoint, Party, Relationship


def parties_written(session: Session, parties: list[Any]) -> None:
    """Write the contact points and addresses ``before_save`` queued for ``parties`` (just inserted): the
    rows ``points.sync`` makes for a new party, through ``insert_many`` (``COPY`` on PostgreSQL, where
    ``sync``'s executemany costs some 20 µs a row in SQLAlchemy)."""
    queue = session.info.get(points.QUEUE)
    if not queue:
        return
    new_points: list[dict[str, Any]] = []
    new_addresses: list[dict[str, Any]] = []
    others = []
    for party in parties:
        entry = queue.pop(id(party), None)
        if entry is None:
            continue
        _party, is_new, wanted = entry
        if not is_new:  # not on this path (it creates), but sync knows what to do with one
            others.append((party, is_new, wanted))
            continue
        for channel in ("email", "phone"):
            display, key = wanted.get(channel, ("", ""))
            if key:
                new_points.append(points._point_row(party.id, channel, display, key, 0))
        city, country = wanted.get("address", ("", ""))
        if city:
            new_addresses.append(points._address_row(party.id, city, country, 0))
    if not queue:
        session.info.pop(points.QUEUE, None)
    insert_many(session, ContactPoint, new_points)
    insert_many(session, Address, new_addresses)
    if others:
        points.sync(session, others)


def register() -> None:
    bulk_creates(Party, written=parties_written, in_session=False)  # no party rule looks at session.new
    bulk_creates(Relationship)


register()
