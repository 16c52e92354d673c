from starlette.responses import PlainTextResponse
from starlette.routing import Route

from voronka.core.markers import hookimpl
from voronka.core.security.markers import csrf_exempt, public, rate_limit


@csrf_exempt("public form: origin check and honeypot")
@public
async def submit(request):
    return PlainTextResponse("thanks")


@csrf_exempt("public form: origin check and honeypot")
@rate_limit(10, per=60)
@public
async def submit_limited(request):
    return PlainTextResponse("thanks")


@hookimpl
def routes():
    return [
        Route("/submit", submit, methods=["POST"], name="submit"),
        Route("/submit-limited", submit_limited, methods=["POST"], name="submit_limited"),
    ]
