"""Soft delete and merges: the recycle bin and merged-into redirects."""

from __future__ import annotations
