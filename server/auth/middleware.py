"""Who is calling: resolve the principal per request and enforce CSRF on cookie sessions."""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Handler

from server.auth.domain import ANONYMOUS, Principal
from server.errors import Forbidden
from server.keys import AUTH, CSRF, PRINCIPAL, VIA

SESSION_COOKIE = "onair_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Paths that authenticate themselves (login's double-submit cookie, Socket.IO, WHIP keys).
_EXEMPT_PREFIXES = ("/login", "/socket.io/", "/whip/", "/whep/", "/static/", "/hls/")


def principal_of(request: web.Request) -> Principal:
    principal: Principal = request.get(PRINCIPAL, ANONYMOUS)
    return principal


def csrf_of(request: web.Request) -> str:
    token: str = request.get(CSRF, "")
    return token


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bearer token (API token or viewer JWT) or session cookie; CSRF on unsafe cookie calls."""
    if request.path.startswith(("/static/", "/socket.io/", "/hls/")):
        response: web.StreamResponse = await handler(request)
        return response
    auth = request.app[AUTH]
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        request[PRINCIPAL] = await auth.bearer(header[7:].strip())
        request[VIA] = "bearer"
        return await handler(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        staff = await auth.session(cookie)
        if staff is not None:
            request[PRINCIPAL] = staff.principal
            request[CSRF] = staff.csrf_token
            request[VIA] = "cookie"
            if request.method not in SAFE_METHODS and not request.path.startswith(
                _EXEMPT_PREFIXES
            ):
                await _check_csrf(request, staff.csrf_token)
    return await handler(request)


async def _check_csrf(request: web.Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.content_type in (
        "application/x-www-form-urlencoded", "multipart/form-data"
    ):
        form = await request.post()
        value = form.get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("csrf_failed", "missing or wrong CSRF token; reload the page")
