"""The app factory: builds services, wires routes and sockets, owns start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from broadcasts import wiring as broadcasts_wiring
from chat import wiring as chat_wiring
from coupons import wiring as coupons_wiring
from orders import wiring as orders_wiring
from server import console, migrate, ops, realtime
from server.api import Operation, openapi_document, register
from server.auth import admin_http
from server.auth import http as auth_http
from server.auth.middleware import auth_middleware
from server.auth.service import AuthService
from server.bus import Bus, InProcessBus, RedisBus
from server.db import make_engine, make_sessions, ping, redact_url
from server.keys import (
    AUTH,
    BUS,
    ENGINE,
    HOOKS,
    METRICS,
    PAGES,
    REDIS,
    SESSIONS,
    SETTINGS,
    Hook,
)
from server.logs import request_id_middleware
from server.metrics import Metrics
from server.pages import Pages
from server.problems import problem_middleware
from server.security import security_headers_middleware
from server.settings import Settings

VERSION = "0.1.0"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
START_TIMEOUT = 10.0
log = logging.getLogger("onair")


class StartupError(Exception):
    """The server cannot start; the message is one line for the operator."""


def create_app(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    redis: Redis | None = None,
    migrate_embedded: bool = True,
) -> web.Application:
    """Build the application. What the caller passes in (engine, redis), the caller closes."""
    app = web.Application(
        middlewares=[
            realtime.socketio_shortcut,
            request_id_middleware,
            security_headers_middleware,
            problem_middleware,
            auth_middleware,
        ],
        client_max_size=settings.max_body_bytes,
    )
    own_engine = engine is None
    if engine is None:
        engine = make_engine(settings.database_url)
    own_redis = redis is None and settings.redis_url is not None
    if redis is None and settings.redis_url is not None:
        # A burst of chat (a thousand senders in one tick) asks for many connections at
        # once: callers wait for a free one rather than fail with "too many connections".
        pool = BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=settings.redis_pool_size, timeout=5,
            socket_connect_timeout=2, socket_timeout=5, health_check_interval=15,
        )
        redis = Redis.from_pool(pool)  # closing the client closes the pool
    sessions = make_sessions(engine)
    bus: Bus = RedisBus(
        redis, settings.node_id, prefix=settings.redis_prefix + "bus:"
    ) if redis is not None else InProcessBus(
        settings.node_id
    )

    app[SETTINGS] = settings
    app[ENGINE] = engine
    app[SESSIONS] = sessions
    app[REDIS] = redis
    app[BUS] = bus
    app[METRICS] = Metrics()
    app[PAGES] = Pages()
    app[HOOKS] = []
    app[AUTH] = AuthService(sessions, settings)

    operations: list[Operation] = []
    realtime.setup(app)
    ops.setup(app)
    auth_http.setup(app)
    operations += auth_http.ops.items
    operations += admin_http.ops.items
    # Contexts, in dependency order: the catalog before shows, shows before chat.
    operations += orders_wiring.install(app)
    operations += broadcasts_wiring.install(app)
    operations += chat_wiring.install(app)
    operations += coupons_wiring.install(app)
    console.setup(app)
    register(app, operations)
    app[ops.OPENAPI] = openapi_document(operations, VERSION)
    app.router.add_static("/static", STATIC_DIR, name="static")

    app.cleanup_ctx.append(_resources(own_engine, own_redis, migrate_embedded))
    return app


Resources = Callable[[web.Application], AsyncIterator[None]]


def _resources(own_engine: bool, own_redis: bool, migrate_embedded: bool) -> Resources:
    async def resources(app: web.Application) -> AsyncIterator[None]:
        settings, engine, redis, bus = app[SETTINGS], app[ENGINE], app[REDIS], app[BUS]
        started: list[tuple[Hook, Hook]] = []
        bus_started = False
        # One try for start-up and shutdown, so a refused start still closes what it opened.
        try:
            await _check_services(settings, engine, redis)
            if not await migrate.is_current(engine):
                if settings.is_sqlite and migrate_embedded:
                    await migrate.upgrade(engine)
                else:
                    raise StartupError(
                        f"the database at {redact_url(settings.database_url)} is not migrated "
                        "to this version: run `onair db upgrade`"
                    )
            await bus.start()
            bus_started = True
            for start, stop in app[HOOKS]:
                await start()
                started.append((start, stop))
            yield
        finally:
            for _start, stop in reversed(started):
                try:
                    await stop()
                except Exception:
                    # Keep closing the rest; a failed stop must not leak Redis or the pool.
                    log.exception("shutdown hook failed")
            if bus_started:
                await bus.close()
            if own_redis and redis is not None:
                await redis.aclose()
            if own_engine:
                await engine.dispose()

    return resources


async def _check_services(settings: Settings, engine: AsyncEngine, redis: Redis | None) -> None:
    """Fail fast with one line naming the (password-redacted) URL that does not answer."""
    try:
        await asyncio.wait_for(ping(engine), START_TIMEOUT)
    except Exception as exc:
        raise StartupError(
            f"cannot reach the database at {redact_url(settings.database_url)}: {_reason(exc)}"
        ) from None
    if redis is not None:
        try:
            await asyncio.wait_for(redis.ping(), START_TIMEOUT)
        except Exception as exc:
            raise StartupError(
                f"cannot reach Redis at {redact_url(settings.redis_url or '')}: {_reason(exc)}"
            ) from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    if isinstance(exc, TimeoutError) or not text:
        return type(exc).__name__
    return text[0][:200]
