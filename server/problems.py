"""RFC 9457 problem responses and the middleware that turns every error into one."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from server.errors import DomainError

log = logging.getLogger("onair.http")

PROBLEM_TYPE = "application/problem+json"

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    503: "unavailable",
}


def problem(
    status: int, code: str, detail: str = "", *, headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    """A problem+json response with a stable `code`."""
    body: dict[str, Any] = {
        "type": f"https://onair.dev/problems/{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode(),
        content_type=PROBLEM_TYPE,
        headers=headers,
    )


def from_domain(exc: DomainError) -> web.Response:
    headers = {}
    retry_after = exc.extra.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, int(-(-float(retry_after) // 1))))
    return problem(exc.status, exc.code, exc.detail, headers=headers or None, **exc.extra)


def wants_json(request: web.Request) -> bool:
    path = request.path
    if path.startswith(("/api/", "/whip/", "/whep/")):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map domain errors and HTTP errors to problem+json; never leak a traceback."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except DomainError as exc:
        if wants_json(request):
            return from_domain(exc)
        return await _html_error(request, exc.status, exc.code)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if not wants_json(request):
            if exc.status in (404, 405, 413):
                return await _html_error(request, exc.status, _HTTP_CODES[exc.status])
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        detail = "" if exc.text is None or exc.text.startswith(str(exc.status)) else exc.text
        return problem(exc.status, code, detail, headers=_keep_headers(exc))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json(request):
            return problem(500, "internal_error", "the server could not complete the request")
        return await _html_error(request, 500, "internal_error")


def _keep_headers(exc: web.HTTPException) -> dict[str, str] | None:
    keep = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
    return keep or None


async def _html_error(request: web.Request, status: int, code: str) -> web.Response:
    from server.pages import render_error

    return await render_error(request, status, code)
