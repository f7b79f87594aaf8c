"""Install the chat context into the app: services, routes, socket handlers."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import web

from chat import events, http
from chat.history import BatchWriter, History, MemoryHistory, RedisHistory
from chat.keys import CHAT, Chat
from chat.limits import Limiter, LocalLimits
from chat.limits_redis import RedisLimits
from chat.moderation import ModerationService
from chat.nonces import MemoryNonces, Nonces, RedisNonces
from chat.service import ChatService
from chat.state import ChatState
from chat.store import ChatStore
from server.api import Operation
from server.errors import Unavailable
from server.keys import BUS, ENGINE, HOOKS, HUB, REDIS, SESSIONS, SETTINGS

log = logging.getLogger("onair.chat")


class _HubPort:
    """Publishes through the hub stored on the app (looked up per call, so the order of
    installation does not matter)."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def publish(
        self, show_id: int, event: str, payload: dict[str, Any], *, coalesce: bool = False,
        logged: bool = True, staff_only: bool = False, only_user: str | None = None,
    ) -> int | None:
        hub = self._app.get(HUB)
        if hub is None:
            raise Unavailable("unavailable", "real-time hub is not running")
        result: int | None = await hub.publish(
            show_id, event, payload, coalesce=coalesce, logged=logged,
            staff_only=staff_only, only_user=only_user)
        return result


def install(app: web.Application) -> list[Operation]:
    """Build this context's services, store them under app keys; return its API operations."""
    settings, redis, sessions = app[SETTINGS], app[REDIS], app[SESSIONS]
    clock = time.time
    store = ChatStore(sessions)
    state = ChatState(store, app[BUS], clock, redis, settings.redis_prefix)
    history: History
    nonces: Nonces
    limiter: Limiter
    if redis is not None:
        history = RedisHistory(redis, settings.redis_prefix)
        nonces = RedisNonces(redis, settings.redis_prefix)
        limiter = RedisLimits(redis, settings.redis_prefix)
    else:
        history = MemoryHistory()
        nonces = MemoryNonces()
        limiter = LocalLimits()
    writer = BatchWriter(sessions, app[ENGINE].dialect.name)
    hub = _HubPort(app)
    chat = ChatService(hub, state, history, writer, nonces, clock, limiter=limiter)
    moderation = ModerationService(hub, state, store, history, clock)
    app[CHAT] = Chat(chat, moderation, store)

    tasks: set[asyncio.Task[None]] = set()

    def on_hide(message: dict[str, Any]) -> None:
        # Every node marks its own unsaved messages (and re-runs the UPDATE, idempotent).
        task = asyncio.get_running_loop().create_task(_hide_saved(writer, message))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    state.on_hide.append(on_hide)
    real_hub = app.get(HUB)
    if real_hub is not None:
        events.attach(real_hub, chat, moderation)
    else:
        log.warning("no real-time hub: chat has no socket events")

    async def start() -> None:
        await state.start()
        await writer.start()

    async def stop() -> None:
        await chat.stop()
        if tasks:
            await asyncio.wait(set(tasks), timeout=5)
        await state.stop()

    app[HOOKS].append((start, stop))
    return list(http.ops.items)


async def _hide_saved(writer: BatchWriter, message: dict[str, Any]) -> None:
    try:
        await writer.hide(int(message["show_id"]), [int(i) for i in message.get("ids") or []],
                          message.get("user_id"), int(message.get("upto") or 0))
    except Exception:
        log.exception("chat: hiding stored messages failed")
