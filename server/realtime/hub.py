"""The Hub: the one service every context publishes real-time events through (ADR 0002)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.auth.domain import Principal
from server.bus import Bus
from server.errors import DomainError
from server.realtime.fanout import CONSOLE, LIVE, Conn, Fanout, dumps, tick_item
from server.realtime.presence import Counters
from server.realtime.roomlog import MemoryLog, Missed, RedisLog, RoomLog
from server.settings import Settings

log = logging.getLogger("onair.realtime")

CHANNEL = "realtime"
EVENT_NAME = re.compile(r"^[a-z][a-z0-9_.:-]{0,39}$")
# Names the hub itself sends or handles.
RESERVED = frozenset({"tick", "stats", "state", "status", "join", "leave", "heart",
                      "connect", "disconnect", "connect_error", "message"})

Ctx = Conn
Handler = Callable[[Conn, Any], Awaitable[dict[str, Any]]]
StateProvider = Callable[[int, Principal], Awaitable[dict[str, Any]]]
StatsProvider = Callable[[int], Awaitable[dict[str, Any]]]
ShowChecker = Callable[[int, Principal], Awaitable[None]]
Hook = Callable[[Conn], Awaitable[None]]



def with_id(payload_json: str, event_id: int) -> str:
    if payload_json == "{}":
        return f'{{"id":{event_id}}}'
    return f'{{"id":{event_id},{payload_json[1:]}'


class Hub:
    """Rooms per show on `/live` and `/console`, the room log, presence, hearts and the
    coalescing fan-out. Contexts never touch Socket.IO; they call these methods."""

    def __init__(
        self, *, sio: Any, bus: Bus, redis: Redis | None, settings: Settings
    ) -> None:
        self.sio = sio
        self.bus = bus
        self.settings = settings
        self.node_id = settings.node_id
        self.fanout = Fanout(on_stuck=self._stuck)
        self.counters = Counters(redis, settings.redis_prefix + "rt:", settings.node_id,
                                 settings.presence_ttl_seconds)
        self.memory_log = MemoryLog(settings.room_log_size)
        self.log: RoomLog = self.memory_log if redis is None else RedisLog(
            redis, settings.redis_prefix + "rt:", settings.room_log_size)
        self.conns: dict[str, Conn] = {}
        self.handlers: dict[tuple[str, str], Handler] = {}
        self.state_providers: list[StateProvider] = []
        self.stats_providers: list[StatsProvider] = []
        self.join_hooks: list[Hook] = []
        self.leave_hooks: list[Hook] = []
        self.show_checker: ShowChecker | None = None
        self.presence_dirty: set[int] = set()
        self.joining: set[str] = set()
        self._outgoing_hearts: dict[int, int] = {}
        self._outgoing_latest: dict[int, dict[str, Any]] = {}
        self._pump_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self._log_degraded = False
        self.on_register: Callable[[str, str], None] | None = None

    # --- the contract (ADR 0002) ---

    async def publish(
        self, show_id: int, event: str, payload: dict[str, Any], *, coalesce: bool = False,
        logged: bool = True, staff_only: bool = False, only_user: str | None = None,
    ) -> int | None:
        """Deliver `event` to the show's room on every node; returns its id when logged.

        `coalesce=True` rides the next tick; otherwise it goes out at once, after the
        show's pending tick. `staff_only` reaches `/console` only. `only_user` reaches that
        viewer's sockets only, is never logged and keeps the payload's own `id`. A logged
        event's id is also put in the payload."""
        _check_show(show_id)
        if not EVENT_NAME.match(event) or event in RESERVED:
            raise ValueError(f"not a publishable event name: {event!r}")
        # Logged events get the log's id. An unlogged private event (shadow-hidden chat)
        # keeps the id its publisher gave it, so the recipient can still refer to it.
        keep_id = only_user is not None
        text = dumps(payload if keep_id else {k: v for k, v in payload.items() if k != "id"})
        event_id: int | None = None
        in_redis = True
        if logged and only_user is None:
            event_id, in_redis = await self._append(show_id, event, text, staff_only)
            text = with_id(text, event_id)
        msg = {"t": "ev", "s": show_id, "e": event, "p": text, "i": event_id,
               "c": coalesce, "so": staff_only, "u": only_user}
        if not in_redis:
            msg["m"] = 1  # logged in this node's memory only (Redis was away)
        await self.bus.publish(CHANNEL, msg)
        return event_id

    def set_latest(self, show_id: int, key: str, value: Any) -> None:
        """A latest-value-wins field of the next tick. A dict value merges into what is
        pending: `set_latest(show, "stock", {"12": 3})` sends `"stock": {"12": 3}`."""
        _check_show(show_id)
        if not EVENT_NAME.match(key) or key in ("events", "viewers", "hearts"):
            raise ValueError(f"not a tick field name: {key!r}")
        fields = {key: value}
        dumps(fields)  # fail here, in the caller, on values JSON cannot carry
        self.fanout.set_latest(show_id, fields)
        if self.counters.shared:
            pending = self._outgoing_latest.setdefault(show_id, {})
            current = pending.get(key)
            if isinstance(value, dict) and isinstance(current, dict):
                current.update(value)
            else:
                pending[key] = dict(value) if isinstance(value, dict) else value
            self._pump_wake.set()

    def add_hearts(self, show_id: int, count: int) -> None:
        """Add hearts to the show's total (summed once across nodes, sent in ticks)."""
        _check_show(show_id)
        if count > 0:
            self._outgoing_hearts[show_id] = self._outgoing_hearts.get(show_id, 0) + count
            self._pump_wake.set()

    def add_state_provider(self, fn: StateProvider) -> None:
        """`async fn(show_id, principal) -> dict`, merged into the join ack's `state`."""
        self.state_providers.append(fn)

    def add_stats_provider(self, fn: StatsProvider) -> None:
        """`async fn(show_id) -> dict`, merged into the `/console` `stats` event."""
        self.stats_providers.append(fn)

    def set_show_checker(self, fn: ShowChecker | None) -> None:
        """`async fn(show_id, principal)` raising DomainError to refuse a join."""
        self.show_checker = fn

    def on(self, namespace: str, event: str, handler: Handler) -> None:
        """`async handler(ctx, data) -> dict` answers `event` on `namespace`; the dict is
        the ack (`"ok": true` added when absent); DomainError becomes an error ack."""
        if namespace not in (LIVE, CONSOLE):
            raise ValueError(f"unknown namespace {namespace!r}")
        if not EVENT_NAME.match(event) or event in RESERVED:
            raise ValueError(f"event name {event!r} is reserved or malformed")
        if (namespace, event) in self.handlers:
            raise ValueError(f"{event!r} on {namespace} already has a handler")
        self.handlers[(namespace, event)] = handler
        if self.on_register is not None:
            self.on_register(namespace, event)

    def on_join(self, fn: Hook) -> None:
        self.join_hooks.append(fn)

    def on_leave(self, fn: Hook) -> None:
        self.leave_hooks.append(fn)

    def viewers(self, show_id: int) -> int:
        """Viewers of the show across nodes, as this node knows it."""
        entry = self.counters.viewers.get(show_id)
        return entry.estimate if entry is not None else 0

    def peak_viewers(self, show_id: int) -> int:
        entry = self.counters.viewers.get(show_id)
        return max(entry.peak, entry.estimate) if entry is not None else 0

    def hearts(self, show_id: int) -> int:
        return self.counters.hearts.get(show_id, 0)

    # --- cross-node messages ---

    def _on_message(self, msg: dict[str, Any]) -> None:
        kind, show_id = msg.get("t"), msg.get("s")
        if not isinstance(show_id, int) or show_id not in self.fanout.rooms:
            if kind == "viewers" and isinstance(show_id, int) and show_id in self.counters.viewers:
                self.counters.confirm(show_id, msg["n"], msg["p"], msg["v"])
            return
        if kind == "ev":
            if msg["i"] is not None and self.log is not self.memory_log and "m" not in msg:
                self.memory_log.note(show_id, msg["i"])  # for reads while Redis is away
            if msg["u"] is not None:
                body = msg["p"]
                event, payload = ("tick", f'{{"events":[{tick_item(msg["e"], body)}]}}') \
                    if msg["c"] else (msg["e"], body)
                self.fanout.send_event(show_id, event, payload, only_user=msg["u"])
            elif msg["c"]:
                self.fanout.queue_event(show_id, msg["i"], msg["e"], msg["p"], msg["so"])
            else:
                self.fanout.send_event(show_id, msg["e"], msg["p"], staff_only=msg["so"])
        elif kind == "viewers":
            if self.counters.confirm(show_id, msg["n"], msg["p"], msg["v"]):
                self.fanout.set_viewers(show_id, self.counters.of(show_id).estimate)
        elif kind == "hearts":
            if self.counters.heard(show_id, msg["n"]):
                self.fanout.set_hearts(show_id, msg["n"])
        elif kind == "latest" and msg.get("o") != self.node_id:
            self.fanout.set_latest(show_id, msg["f"])

    async def _append(
        self, show_id: int, event: str, text: str, staff_only: bool
    ) -> tuple[int, bool]:
        """Log an event: (its id, whether the shared log holds it)."""
        try:
            event_id = await self.log.append(show_id, event, text, staff_only)
        except (RedisError, OSError) as exc:
            if not self._log_degraded:
                log.warning("room log lost Redis (%s); logging on this node only", exc)
            self._log_degraded = True
            return self.memory_log.append_now(show_id, event, text, staff_only), False
        if self._log_degraded:
            log.info("room log reached Redis again")
            self._log_degraded = False
        if self.log is not self.memory_log:
            self.memory_log.note(show_id, event_id)
        return event_id, True

    async def read_log(self, show_id: int, after: int | None, staff: bool) -> Missed:
        """What a joining client missed; from this node's memory while Redis is away
        (exact after the newest id this node saw in Redis, `reset` before it)."""
        try:
            missed = await self.log.read(show_id, after, staff)
        except (RedisError, OSError) as exc:
            if not self._log_degraded:
                log.warning("room log lost Redis (%s); reading this node's memory", exc)
            self._log_degraded = True
            if after is not None and not self.memory_log.knows(show_id):
                return Missed([], True, None)
            return await self.memory_log.read(show_id, after, staff)
        return missed

    def _stuck(self, conn: Conn) -> None:
        """A socket that stopped reading: drop it; it reconnects and resumes."""
        if conn.eio.closing:
            return
        log.info("dropping %s on %s: %d frames queued", conn.sid, conn.namespace,
                 conn.eio.queue.qsize())
        self.drop(conn)

    def drop(self, conn: Conn) -> None:
        """Cut a socket's connection as a network failure would (no goodbye packet)."""
        environ = self.sio.environ.get(conn.eio.sid) or {}
        request = environ.get("aiohttp.request")
        transport = request.transport if request is not None else None
        self.spawn(conn.eio.close(wait=False, abort=True))
        if transport is not None:
            transport.abort()

    def spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- lifecycle (app[HOOKS]) ---

    async def start(self) -> None:
        from server.realtime import loops

        self._unsubscribe = self.bus.subscribe(CHANNEL, self._on_message)
        self._tasks = [
            asyncio.create_task(loops.tick(self), name="onair-rt-tick"),
            asyncio.create_task(loops.pump(self), name="onair-rt-pump"),
            asyncio.create_task(loops.presence(self), name="onair-rt-presence"),
            asyncio.create_task(loops.stats(self), name="onair-rt-stats"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.sio.shutdown()
        wheel = getattr(self.sio.eio, "ping_wheel", None)
        if wheel is not None:
            wheel.stop()
        await self.counters.withdraw()
        if self._unsubscribe is not None:
            self._unsubscribe()
        background = list(self._background)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)

    def take_outgoing(self) -> tuple[dict[int, dict[str, Any]], dict[int, int]]:
        latest, self._outgoing_latest = self._outgoing_latest, {}
        hearts, self._outgoing_hearts = self._outgoing_hearts, {}
        return latest, hearts


def _check_show(show_id: int) -> None:
    if type(show_id) is not int or show_id <= 0:
        raise ValueError(f"show ids are positive integers, got {show_id!r}")


def error_ack(exc: DomainError) -> dict[str, Any]:
    return {"ok": False, "error": exc.code, "detail": exc.detail, **exc.extra}
