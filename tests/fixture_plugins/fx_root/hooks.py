from fx_calls import record
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from voronka.core.markers import hookimpl
from voronka.core.ui import NavItem


async def index(request):
    return PlainTextResponse("fx_root is serving")


@hookimpl
def routes():
    return [Route("/", index, name="index")]


@hookimpl
def nav_items(request):
    return [NavItem("fx_root.index", "Root (A)", "/fx_root/", order=900)]


@hookimpl
def startup(app):
    record("startup", "fx_root")


@hookimpl
def shutdown(app):
    record("shutdown", "fx_root")


@hookimpl
def seed(ctx):
    record("seed", "fx_root")
    ctx.ids["fx_root.seeded"] = [1]
