"""Cross-node publish/subscribe: in-process for one node, Redis for many.

Both deliver a published message to this node's handlers at once (so a node keeps
serving its own viewers when Redis is away) and to every other node exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("onair.bus")

Handler = Callable[[dict[str, Any]], None]


class Bus(Protocol):
    node_id: str

    @property
    def healthy(self) -> bool: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, message: dict[str, Any]) -> None: ...

    def subscribe(self, channel: str, handler: Handler) -> Callable[[], None]: ...


class _PubSub(Protocol):
    """The part of redis-py's PubSub the bus uses (its aclose is unannotated upstream)."""

    async def subscribe(self, *channels: str) -> Any: ...

    # The timeout parameter mirrors redis-py's own signature.
    async def get_message(
        self, ignore_subscribe_messages: bool = ..., timeout: float | None = ...  # noqa: ASYNC109
    ) -> dict[str, Any] | None: ...

    async def aclose(self) -> None: ...


class _Handlers:
    def __init__(self) -> None:
        self.by_channel: dict[str, list[Handler]] = {}

    def add(self, channel: str, handler: Handler) -> Callable[[], None]:
        self.by_channel.setdefault(channel, []).append(handler)

        def remove() -> None:
            handlers = self.by_channel.get(channel, [])
            if handler in handlers:
                handlers.remove(handler)
            if not handlers:
                self.by_channel.pop(channel, None)

        return remove

    def deliver(self, channel: str, message: dict[str, Any]) -> None:
        for handler in list(self.by_channel.get(channel, ())):
            try:
                handler(message)
            except Exception:
                log.exception("bus handler failed on %s", channel)


class InProcessBus:
    """The embedded default: one node, handlers called in the publishing task."""

    def __init__(self, node_id: str = "local") -> None:
        self.node_id = node_id
        self._handlers = _Handlers()

    @property
    def healthy(self) -> bool:
        return True

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._handlers.by_channel.clear()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self._handlers.deliver(channel, message)

    def subscribe(self, channel: str, handler: Handler) -> Callable[[], None]:
        return self._handlers.add(channel, handler)


class RedisBus:
    """Redis pub/sub between nodes; reconnects with backoff and reports health."""

    def __init__(self, redis: Redis, node_id: str, prefix: str = "onair:bus:") -> None:
        self.node_id = node_id
        self._redis = redis
        self._prefix = prefix
        self._handlers = _Handlers()
        self._task: asyncio.Task[None] | None = None
        self._healthy = False
        self._published = True
        self._subscribed: set[str] = set()
        self._pubsub: _PubSub | None = None
        self._ready = asyncio.Event()
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def healthy(self) -> bool:
        """Subscribed, and the last publish reached Redis."""
        return self._healthy and self._published

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="onair-bus")
        # Wait for the first subscription so nothing published right after start is lost.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), 5)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        pending = list(self._pending)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._handlers.by_channel.clear()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self._handlers.deliver(channel, message)
        envelope = json.dumps({"o": self.node_id, "m": message}, separators=(",", ":"))
        try:
            await self._redis.publish(self._prefix + channel, envelope)
        except (RedisError, OSError) as exc:
            if self._published:
                log.warning("bus publish on %s failed: %s", channel, exc)
            self._published = False
        else:
            self._published = True

    def subscribe(self, channel: str, handler: Handler) -> Callable[[], None]:
        remove = self._handlers.add(channel, handler)
        if channel not in self._subscribed:
            self._subscribed.add(channel)
            if self._pubsub is not None:
                # Without a listener the next (re)connect subscribes to every known channel.
                task = asyncio.get_running_loop().create_task(
                    self._subscribe_remote(self._pubsub, channel)
                )
                # The loop keeps only weak references to tasks; hold this one until done.
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
        return remove

    async def _subscribe_remote(self, pubsub: _PubSub, channel: str) -> None:
        try:
            await pubsub.subscribe(self._prefix + channel)
        except (RedisError, OSError) as exc:
            log.warning("bus subscribe to %s failed: %s", channel, exc)

    async def _listen(self) -> None:
        delay = 0.2
        while True:
            pubsub: _PubSub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                # A heartbeat channel keeps the connection subscribed even with no rooms.
                await pubsub.subscribe(
                    self._prefix + "_heartbeat",
                    *(self._prefix + c for c in self._subscribed),
                )
                self._pubsub = pubsub
                self._healthy = True
                self._ready.set()
                delay = 0.2
                while True:
                    item = await pubsub.get_message(timeout=1.0)
                    if not self._published:  # a publish failed: healthy once Redis answers
                        await self._redis.ping()
                        self._published = True
                    if item is None:
                        continue
                    self._dispatch(item)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self._healthy:
                    log.warning("bus lost Redis: %s; reconnecting", exc)
                self._healthy = False
                self._ready.set()
            finally:
                self._pubsub = None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _dispatch(self, item: dict[str, Any]) -> None:
        if item.get("type") != "message":
            return
        channel = item["channel"]
        if isinstance(channel, bytes):
            channel = channel.decode()
        try:
            envelope = json.loads(item["data"])
        except (ValueError, TypeError):
            log.warning("bus dropped a malformed message on %s", channel)
            return
        if envelope.get("o") == self.node_id:
            return
        self._handlers.deliver(channel[len(self._prefix):], envelope.get("m") or {})
