"""Built SQL statements kept for reuse: on the most read pages, building a statement with its visibility
filter costs more than running it on an index. Keep one per shape (and per viewer's visibility, see
:func:`voronka.core.security.visibility.visibility_key`) with what varies as bound parameters."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class StatementCache:
    """Built statements by key, the least recently used dropped beyond ``size`` (statements are immutable,
    so one may serve many requests and threads; only its bound parameters change)."""

    def __init__(self, size: int = 512):
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        found = build()  # outside the lock: two threads may build the same statement, both are right
        with self._lock:
            self._items[key] = found
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return found


__all__ = ["StatementCache"]
