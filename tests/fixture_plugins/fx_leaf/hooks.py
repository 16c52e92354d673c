from fx_calls import record
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from voronka.core.markers import hookimpl
from voronka.core.ui import NavItem


async def index(request):
    return PlainTextResponse("fx_leaf is serving")


@hookimpl
def routes():
    return [Route("/", index, name="index")]


@hookimpl
def nav_items(request):
    return [NavItem("fx_leaf.index", "Leaf (C)", "/fx_leaf/", order=902)]


@hookimpl
def startup(app):
    record("startup", "fx_leaf")


@hookimpl
def shutdown(app):
    record("shutdown", "fx_leaf")


@hookimpl
def seed(ctx):
    record("seed", "fx_leaf")
    ctx.ids["fx_leaf.saw_trunk"] = list(ctx.ids.get("fx_trunk.saw_root", []))
