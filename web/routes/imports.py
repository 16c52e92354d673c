"""Import (CSV with mapping, preview, dry run, progress) and list export."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
