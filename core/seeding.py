"""Demo and benchmark data: the context every plugin's ``seed(ctx)`` receives."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Table, insert
from sqlalchemy.orm import Session


@dataclass
class SeedContext:
    """Scale (1 = a small demo), a seeded random generator, ids from earlier plugins, bulk inserts.

    ``ids`` is shared across plugins: core fills ``core.users``, ``core.teams``, ``core.managers``;
    each plugin adds its own namespaced keys for the plugins seeded after it.
    """

    engine: Engine
    session: Session
    scale: int = 1
    rng: random.Random = field(default_factory=lambda: random.Random(20261127))
    ids: dict[str, list[int]] = field(default_factory=dict)
    language: str = "en"

    def bulk_insert(self, table: Table, rows: Iterable[Mapping[str, Any]], batch: int = 5000) -> int:
        """Insert many rows fast with Core ``executemany`` in batches; returns the count."""
        count = 0
        chunk: list[Mapping[str, Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                self.session.execute(insert(table), chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            self.session.execute(insert(table), chunk)
            count += len(chunk)
        return count
