"""The add-on's page and nav item: they must vanish when it is disabled."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from voronka.core.markers import hookimpl
from voronka.core.ui import NavItem


async def addon_page(request: Request) -> Response:
    return PlainTextResponse("admin fixture add-on page")


@hookimpl
def routes() -> list[Any]:
    return [Route("/", addon_page, name="page")]


@hookimpl
def nav_items(request: Any) -> list[NavItem]:
    return [NavItem("adminfx_dep.page", "Add-on page", "/adminfx_dep/", order=71)]
