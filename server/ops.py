"""Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from server.db import ping
from server.keys import BUS, ENGINE, METRICS, REDIS

OPENAPI = web.AppKey("openapi", dict)
CHECK_TIMEOUT = 2.0


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """200 when the database answers (Redis down → "degraded" but still serving);
    503 when the database does not."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(ping(request.app[ENGINE]), CHECK_TIMEOUT)
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "down"
    redis = request.app[REDIS]
    if redis is None:
        checks["redis"] = "not_configured"
    else:
        try:
            await asyncio.wait_for(redis.ping(), CHECK_TIMEOUT)
            checks["redis"] = "ok" if request.app[BUS].healthy else "reconnecting"
        except Exception:
            checks["redis"] = "down"
    if checks["database"] != "ok":
        status, code = "unavailable", 503
    elif checks["redis"] in ("down", "reconnecting"):
        status, code = "degraded", 200
    else:
        status, code = "ready", 200
    body: dict[str, Any] = {"status": status, "checks": checks}
    return web.json_response(body, status=code)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[METRICS].render(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


async def openapi(request: web.Request) -> web.Response:
    return web.Response(
        text=json.dumps(request.app[OPENAPI], ensure_ascii=False),
        content_type="application/json",
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/openapi.json", openapi)
