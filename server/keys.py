"""Typed application keys: where create_app stores each service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.settings import Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from broadcasts.service import ShowService
    from orders.catalog_service import CatalogService
    from server.auth.service import AuthService
    from server.bus import Bus
    from server.metrics import Metrics
    from server.pages import Pages
    from server.realtime import Hub

Hook = Callable[[], Awaitable[None]]

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
REDIS: web.AppKey[Redis | None] = web.AppKey("redis")
BUS: web.AppKey[Bus] = web.AppKey("bus")
AUTH: web.AppKey[AuthService] = web.AppKey("auth")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
PAGES: web.AppKey[Pages] = web.AppKey("pages")
SIO: web.AppKey[Any] = web.AppKey("sio")
HUB: web.AppKey[Hub] = web.AppKey("hub")
CATALOG: web.AppKey[CatalogService] = web.AppKey("catalog")
SHOWS: web.AppKey[ShowService] = web.AppKey("shows")
# (start, stop) pairs run after the database and Redis answer; stopped in reverse.
HOOKS: web.AppKey[list[tuple[Hook, Hook]]] = web.AppKey("hooks")

# Per-request values set by the middlewares.
REQUEST_ID = web.RequestKey("request_id", str)
PRINCIPAL: web.RequestKey[Any] = web.RequestKey("principal")
CSRF = web.RequestKey("csrf", str)
VIA = web.RequestKey("via", str)
CSP_NONCE = web.RequestKey("csp_nonce", str)
NEXT_URL = web.RequestKey("next_url", str)
