"""Imports: uploaded files, their column mapping, progress and per-row outcomes."""

from __future__ import annotations
