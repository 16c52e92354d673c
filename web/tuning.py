"""Process tuning applied once a server, worker or import process has started.

Python's cyclic garbage collector walks every container object in its older generations on a full
collection; after start-up that is hundreds of thousands of long-lived objects (modules, mappers, compiled
SQL, templates) that will never be garbage. Freezing them and collecting the young generation less often
took an import of 100,000 notes on SQLite from 69.1 s to 50.7 s and its longest write transaction from
214 ms to 132 ms (bench/imports.py).
"""

from __future__ import annotations

import gc
from typing import Any

GC_THRESHOLDS = (50_000, 20, 100)
"""Young objects before a collection (the default is 700), then how many collections of each generation
before the next older one is collected."""


def tune_gc(settings: Any) -> bool:
    """Freeze what is alive now and raise the collection thresholds, when ``settings.gc_tuning`` is on.

    Call it once per process after start-up, never per app: frozen objects are never collected, so a test
    process that builds many apps keeps it off (the test kit does)."""
    if not getattr(settings, "gc_tuning", False):
        return False
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return True
