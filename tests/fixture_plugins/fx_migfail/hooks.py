from starlette.responses import PlainTextResponse
from starlette.routing import Route

from voronka.core.markers import hookimpl


async def index(request):
    return PlainTextResponse("fx_migfail should never serve")


@hookimpl
def routes():
    return [Route("/", index, name="index")]
