"""Attachments on any record: upload, list, download, delete."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
