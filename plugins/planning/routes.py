"""Planning's routes, mounted under /planning."""

from __future__ import annotations

from typing import Any

from . import my_plan_pages, panels, target_pages, team_pages

routes: list[Any] = [*my_plan_pages.routes, *team_pages.routes, *target_pages.routes, *panels.routes]
