"""Real-time: the Socket.IO server, rooms per show, the room log, presence and the
coalescing fan-out, offered to every context as one service, `Hub` (ADR 0002)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import socketio
from aiohttp import web

from server.keys import AUTH, BUS, HOOKS, HUB, REDIS, SETTINGS, SIO
from server.realtime import namespaces
from server.realtime.fanout import CONSOLE, LIVE, Conn
from server.realtime.hub import Ctx, Hub
from server.realtime.manager import SlimManager, SlimRedisManager
from server.realtime.websocket import PingWheel, SlimQueue, speed_up, websocket_class

__all__ = ["CONSOLE", "LIVE", "Conn", "Ctx", "Hub", "setup", "socketio_shortcut"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup(app: web.Application) -> None:
    """Attach Socket.IO to the app, build the Hub under app[HUB], start/stop it with the app.

    Cross-node delivery of show events is the hub's own, through app[BUS]. With Redis
    set, python-socketio's Redis manager is attached as well, so that a plain
    `sio.emit(to=sid)` or `sio.disconnect(sid)` reaches a socket on any node (ADR 0004).
    """
    settings = app[SETTINGS]
    manager: SlimManager | SlimRedisManager
    if settings.redis_url:
        manager = SlimRedisManager(settings.redis_url, channel=settings.redis_prefix + "sio")
    else:
        manager = SlimManager()
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
    sio.eio._async["websocket"] = websocket_class(settings.ws_compression)
    sio.eio.create_queue = lambda *args, **kwargs: SlimQueue()
    sio.eio.ping_wheel = PingWheel(sio.eio.ping_interval)
    eio_connect = sio._handle_eio_connect

    async def on_eio_connect(eio_sid: str, environ: dict[str, object]) -> object:
        # Before Engine.IO schedules the first ping and takes the websocket (FastSocket).
        sock = sio.eio.sockets.get(eio_sid)
        if sock is not None:
            speed_up(sock)
        return await eio_connect(eio_sid, environ)

    sio.eio.on("connect", on_eio_connect)
    sio.attach(app)
    hub = Hub(sio=sio, bus=app[BUS], redis=app[REDIS], settings=settings)
    namespaces.install(hub, app[AUTH])
    app[SIO] = sio
    app[HUB] = hub
    app[HOOKS].append((hub.start, hub.stop))
    if isinstance(manager, SlimRedisManager):

        async def start_manager() -> None:
            # Start its Redis listener now rather than at the first connection.
            sio.manager_initialized = True
            manager.initialize()

        app[HOOKS].insert(0, (start_manager, manager.close))


@web.middleware
async def socketio_shortcut(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Hand Socket.IO requests straight to Engine.IO, past the other middlewares.

    A websocket request stays inside its handler for the whole connection, and every
    middleware around it keeps a suspended frame alive that long: at 10,000 viewers the
    request-id, security-header, problem and auth layers (none of which applies to
    Engine.IO's own protocol) cost tens of MiB. Placed first in the chain.
    """
    if request.path.startswith("/socket.io/"):
        response: web.StreamResponse = await request.match_info.handler(request)
        return response
    return await handler(request)
