"""Registers "note" again (taken by notes) and "twin_note" (free), so the whole plugin must be refused."""

from __future__ import annotations

import dataclasses
from typing import Any

from voronka.core.markers import hookimpl

from ..kinds import NOTE


@hookimpl
def record_kinds() -> list[Any]:
    return [dataclasses.replace(NOTE, name="twin_note"), NOTE]
