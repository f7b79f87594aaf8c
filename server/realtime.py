"""Socket.IO server attached to the app: websockets without per-message deflate."""

from __future__ import annotations

from typing import Any

import engineio
import engineio.async_drivers.aiohttp
import socketio
from aiohttp import web
from aiohttp.web import WebSocketResponse

from server.keys import HOOKS, SETTINGS, SIO


def _websocket_class(compress: bool) -> type:
    """Engine.IO's aiohttp websocket wrapper, with deflate on or off."""
    base: Any = engineio.async_drivers.aiohttp.WebSocket

    class WebSocket(base):  # type: ignore[misc, valid-type]
        async def __call__(self, environ: dict[str, Any]) -> Any:
            request = environ["aiohttp.request"]
            self._sock = WebSocketResponse(
                max_msg_size=self.server.max_http_buffer_size, compress=compress
            )
            await self._sock.prepare(request)
            self.environ = environ
            await self.handler(self)
            return self._sock

    return WebSocket


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    manager = None
    if settings.redis_url:
        manager = socketio.AsyncRedisManager(settings.redis_url, channel=settings.redis_prefix + "sio")
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=[settings.public_base_url],
        max_http_buffer_size=64 * 1024,
        ping_interval=25,
        ping_timeout=20,
        logger=False,
        engineio_logger=False,
    )
    sio.eio._async["websocket"] = _websocket_class(settings.ws_compression)
    sio.attach(app)
    app[SIO] = sio

    async def start() -> None:
        return None

    async def stop() -> None:
        await sio.shutdown()

    app[HOOKS].append((start, stop))
