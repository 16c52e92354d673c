"""Custom fields: definitions per record kind and the filterable index of their values."""

from __future__ import annotations
