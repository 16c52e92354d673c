"""The fixture's hooks: a route, a nav item, a permission and settings of every field type."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from voronka.core.markers import hookimpl
from voronka.core.security.permissions import Permission
from voronka.core.settings_store import SettingField
from voronka.core.ui import NavItem


async def fixture_page(request: Request) -> Response:
    return PlainTextResponse("admin fixture page")


@hookimpl
def routes() -> list[Any]:
    return [Route("/", fixture_page, name="page")]


@hookimpl
def nav_items(request: Any) -> list[NavItem]:
    return [NavItem("adminfx.page", "Fixture page", "/adminfx/", order=70)]


@hookimpl
def permissions() -> list[Permission]:
    return [Permission("adminfx.view", "See the fixture page", "Open the admin fixture's page.", ("manager",))]


@hookimpl
def settings_schema() -> list[SettingField]:
    return [
        SettingField("greeting", "Greeting", "text", default="Hello", required=True, help="Shown on top."),
        SettingField("notes", "Notes", "textarea", default=""),
        SettingField("per_page", "Rows per page", "int", default=25, min=5, max=200),
        SettingField("compact", "Compact tables", "bool", default=False),
        SettingField("tone", "Tone", "choice", default="calm", choices=(("calm", "Calm"), ("loud", "Loud"))),
        SettingField("reply_to", "Reply-to address", "email", default=None),
        SettingField("homepage", "Home page", "url", default=None),
    ]
