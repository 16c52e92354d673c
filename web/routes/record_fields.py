"""Custom fields: the admin editor per record kind and in-place editing on any record."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
