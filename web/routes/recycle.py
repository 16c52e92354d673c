"""The recycle bin (restore, purge) and merged-into redirects."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
