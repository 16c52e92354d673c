"""Routes carrying every marker, and the permission one of them requires."""

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from voronka.core.db import write_transaction
from voronka.core.markers import hookimpl
from voronka.core.models import SettingValue
from voronka.core.security.markers import api_key, csrf_exempt, public, rate_limit, requires
from voronka.core.security.permissions import Permission
from voronka.core.security.throttle import count_request
from voronka.core.types import utcnow

SECRET_PERMISSION = "voronka_test_security.secret"
PREFIX = "/voronka_test_security"


@public
async def open_page(request: Request) -> Response:
    return PlainTextResponse("open to everyone")


async def private_page(request: Request) -> Response:
    return PlainTextResponse(f"private for {request.scope['user'].username}")


def sync_page(request: Request) -> Response:
    """A plain function endpoint: the guard runs it in the thread pool."""
    return PlainTextResponse("sync page")


async def item(request: Request) -> Response:
    return PlainTextResponse(f"item {request.path_params['item_id']}")


async def echo(request: Request) -> Response:
    form = await request.form()
    return PlainTextResponse(f"echo {form.get('text', '')}")


async def upload(request: Request) -> Response:
    body = await request.body()
    return PlainTextResponse(f"received {len(body)} bytes")


@csrf_exempt("test webhook: the sender signs its body")
@rate_limit(1000, per=3600)
@public
async def webhook(request: Request) -> Response:
    await request.body()
    return PlainTextResponse("webhook received")


@api_key("items.read")
async def api_items(request: Request) -> Response:
    caller = request.scope["user"]
    return JSONResponse({"items": [], "key": caller.name, "scopes": sorted(caller.scopes)})


@api_key("items.write")
async def api_items_write(request: Request) -> Response:
    return JSONResponse({"created": True}, status_code=201)


@rate_limit(3, per=3600)
@public
async def limited(request: Request) -> Response:
    return PlainTextResponse("within the limit")


@rate_limit(2, per=3600, counted_by_endpoint=True)
@public
async def counted(request: Request) -> Response:
    """Writes a setting named by ``?k=`` and counts itself in the same transaction; ``?early=1`` answers
    without writing or counting (the guard counts it after)."""
    if request.query_params.get("early"):
        return PlainTextResponse("answered early")
    key = request.query_params.get("k", "hit")
    with write_transaction(request.app.state.voronka.sessions) as session:
        session.merge(SettingValue(plugin="voronka_test_security", key=key, value=1, changed_at=utcnow()))
        count_request(session, request)
    return PlainTextResponse(f"written {key}")


@requires(SECRET_PERMISSION)
async def secret(request: Request) -> Response:
    return PlainTextResponse("the secret page")


async def nested_detail(request: Request) -> Response:
    return PlainTextResponse(f"nested {request.path_params['slug']}")


@public
async def nested_file(request: Request) -> Response:
    return PlainTextResponse(f"file {request.path_params['rest']}")


@hookimpl
def routes() -> list:
    return [
        Route("/open", open_page, name="open"),
        Route("/private", private_page, name="private"),
        Route("/sync", sync_page, name="sync"),
        Route("/items/{item_id:int}", item, name="item"),
        Route("/echo", echo, methods=["POST"], name="echo"),
        Route("/upload", upload, methods=["POST", "PUT"], name="upload"),
        Route("/webhook", webhook, methods=["POST"], name="webhook"),
        Route("/api/items", api_items, methods=["GET", "POST"], name="api_items"),
        Route("/api/items/write", api_items_write, methods=["POST"], name="api_items_write"),
        Route("/limited", limited, name="limited"),
        Route("/counted", counted, name="counted"),
        Route("/secret", secret, name="secret"),
        Mount(
            "/nested",
            routes=[
                Route("/{slug}/detail", nested_detail, name="nested_detail"),
                Route("/files/{rest:path}", nested_file, name="nested_file"),
            ],
            name="nested",
        ),
    ]


@hookimpl
def permissions() -> list[Permission]:
    return [Permission(SECRET_PERMISSION, "See the secret fixture page", default_roles=("manager",))]
