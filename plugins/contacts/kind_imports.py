"""What a CSV or vCard import into people and organisations offers beyond their columns and custom fields:
the employer or parent company by name and the extra e-mails, phones and addresses (targets with an
``after`` step), and the vCard row source. The record kinds carry them (``RecordKind.import_targets`` and
``import_sources``), so core offers them only while contacts is enabled. Importing this module registers
parties and relationships for core's bulk path of new records (:mod:`.import_bulk`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from voronka.core.imports_targets import Lookups, Target

from . import import_bulk, imports_links, vcard_source

SOURCES: dict[str, Any] = {vcard_source.SOURCE: vcard_source.open_vcard}
BULK = import_bulk.register  # people, organisations and ties skip the unit of work in import batches


def person_targets(session: Session, lookups: Lookups) -> list[Target]:
    return [*imports_links.person_targets(session, lookups), *vcard_source.points_targets(session, lookups)]


def organisation_targets(session: Session, lookups: Lookups) -> list[Target]:
    return [*imports_links.organisation_targets(session, lookups), *vcard_source.points_targets(session, lookups)]
