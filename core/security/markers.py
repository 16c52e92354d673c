"""Route markers: how a route says it differs from the default (login required, CSRF checked).

Apply them to endpoint functions; the web layer's guard reads them for every route, core's and plugins'::

    @public
    async def health(request): ...

    @csrf_exempt("public form: origin check and honeypot")
    @rate_limit(10, per=60)
    @public
    async def web_to_lead(request): ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

ATTR = "__voronka_route__"


@dataclass
class RouteMarks:
    public: bool = False
    csrf_exempt: str | None = None
    api_scopes: tuple[str, ...] | None = None
    rate: tuple[int, int] | None = None
    rate_in_endpoint: bool = False
    permission: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def marks_of(endpoint: Any) -> RouteMarks:
    return getattr(endpoint, ATTR, None) or RouteMarks()


def _mark(fn: F) -> RouteMarks:
    marks = getattr(fn, ATTR, None)
    if marks is None:
        marks = RouteMarks()
        setattr(fn, ATTR, marks)
    return marks


def public(fn: F) -> F:
    """No login needed. CSRF still applies to unsafe methods unless also ``csrf_exempt``."""
    _mark(fn).public = True
    return fn


def csrf_exempt(reason: str) -> Callable[[F], F]:
    """Skip the CSRF check; ``reason`` names the route's own protection (API key, origin check...)."""
    if not reason.strip():
        raise ValueError("csrf_exempt needs the reason: which protection replaces the CSRF token")

    def apply(fn: F) -> F:
        _mark(fn).csrf_exempt = reason
        return fn

    return apply


def api_key(*scopes: str) -> Callable[[F], F]:
    """Authenticate with an ``Authorization: Bearer <key>`` API key holding all ``scopes``.

    Implies no session login and no CSRF token (the key is the protection).
    """

    def apply(fn: F) -> F:
        marks = _mark(fn)
        marks.api_scopes = tuple(scopes)
        marks.csrf_exempt = marks.csrf_exempt or "API key"
        return fn

    return apply


def rate_limit(requests: int, per: int = 60, *, counted_by_endpoint: bool = False) -> Callable[[F], F]:
    """At most ``requests`` per ``per`` seconds per client address, counted across all processes.

    The guard counts each request in a write transaction of its own before the endpoint runs. An endpoint
    that writes anyway may take the count into its own transaction instead (``counted_by_endpoint``): it
    calls :func:`voronka.core.security.throttle.count_request` there, which refuses a request over the
    limit; a request it did not count (an early answer) the guard counts after it.
    """
    if requests < 1 or per < 1:
        raise ValueError("rate_limit needs positive numbers")

    def apply(fn: F) -> F:
        marks = _mark(fn)
        marks.rate = (requests, per)
        marks.rate_in_endpoint = counted_by_endpoint
        return fn

    return apply


def requires(permission: str) -> Callable[[F], F]:
    """Refuse with 403 unless the logged-in user holds ``permission``."""

    def apply(fn: F) -> F:
        _mark(fn).permission = permission
        return fn

    return apply
