"""Recent chat per show (in-memory ring, or a Redis Stream shared by the nodes) and the
batch writer that persists accepted messages to the database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from functools import cache
from typing import Any, Protocol

from redis.asyncio import Redis
from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.domain import ChatMessage
from chat.tables import ChatMessageRow

log = logging.getLogger("onair.chat")

RECENT = 50


class History(Protocol):
    """The bounded log of recent messages that feeds the join snapshot and replies."""

    async def append(self, message: ChatMessage) -> None: ...

    async def recent(self, show_id: int, limit: int, viewer_id: str | None) -> list[dict[str, Any]]:
        """Oldest first; hidden messages left out, shadowed ones only for their author."""
        ...

    async def find(self, show_id: int, message_id: int) -> dict[str, Any] | None: ...

    async def latest(self, show_id: int) -> int:
        """The highest message id in the log (0 when empty)."""
        ...

    async def hide(self, show_id: int, ids: list[int], user_id: str | None, upto: int) -> None:
        """Leave out `ids`, and every message of `user_id` with an id up to `upto`."""
        ...


def _entry(message: ChatMessage) -> dict[str, Any]:
    entry = message.payload()
    if message.shadow:
        entry["_shadow"] = True
    return entry


def _visible(entry: dict[str, Any], viewer_id: str | None) -> dict[str, Any] | None:
    if entry.get("_shadow"):
        if entry["user_id"] != viewer_id:
            return None
        return {k: v for k, v in entry.items() if k != "_shadow"}
    return entry


class MemoryHistory:
    """One node, no Redis: a ring of the last `size` messages per show."""

    def __init__(self, size: int = 500) -> None:
        self._size = size
        self._rings: dict[int, deque[dict[str, Any]]] = {}

    async def append(self, message: ChatMessage) -> None:
        ring = self._rings.get(message.show_id)
        if ring is None:
            ring = self._rings[message.show_id] = deque(maxlen=self._size)
        ring.append(_entry(message))

    async def recent(self, show_id: int, limit: int, viewer_id: str | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for entry in reversed(self._rings.get(show_id, ())):
            shown = _visible(entry, viewer_id)
            if shown is not None:
                out.append(shown)
                if len(out) >= limit:
                    break
        out.reverse()
        return out

    async def find(self, show_id: int, message_id: int) -> dict[str, Any] | None:
        for entry in reversed(self._rings.get(show_id, ())):
            if entry["id"] == message_id:
                return None if entry.get("_shadow") else entry
        return None

    async def latest(self, show_id: int) -> int:
        return max((e["id"] for e in self._rings.get(show_id, ())), default=0)

    async def hide(self, show_id: int, ids: list[int], user_id: str | None, upto: int) -> None:
        ring = self._rings.get(show_id)
        if not ring:
            return
        gone = set(ids)
        kept = [e for e in ring
                if e["id"] not in gone and not (e["user_id"] == user_id and e["id"] <= upto)]
        ring.clear()
        ring.extend(kept)


class RedisHistory:
    """A capped Redis Stream per show, plus the hidden ids and users beside it."""

    def __init__(self, redis: Redis, prefix: str, size: int = 500, ttl: int = 2 * 86400) -> None:
        self._redis = redis
        self._prefix = prefix + "chat:"
        self._size = size
        self._ttl = ttl

    def _keys(self, show_id: int) -> tuple[str, str, str]:
        base = f"{self._prefix}{show_id}:"
        return base + "log", base + "hidden", base + "hidden_users"

    async def append(self, message: ChatMessage) -> None:
        log_key, _, _ = self._keys(message.show_id)
        data = json.dumps(_entry(message), ensure_ascii=False, separators=(",", ":"))
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(log_key, {"m": data}, maxlen=self._size, approximate=True)
            pipe.expire(log_key, self._ttl)
            await pipe.execute()

    async def _read(self, show_id: int, count: int) -> list[dict[str, Any]]:
        log_key, hidden_key, users_key = self._keys(show_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xrevrange(log_key, count=count)
            pipe.smembers(hidden_key)
            pipe.hgetall(users_key)
            rows, hidden, users = await pipe.execute()
        hidden_ids = {int(x) for x in hidden}
        cutoffs = {_text(k): int(v) for k, v in users.items()}
        out = []
        for _sid, fields in rows:
            entry = json.loads(_text(_field(fields)))
            if entry["id"] in hidden_ids:
                continue
            cutoff = cutoffs.get(entry["user_id"])
            if cutoff is not None and entry["id"] <= cutoff:
                continue
            out.append(entry)
        return out  # newest first

    async def recent(self, show_id: int, limit: int, viewer_id: str | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for entry in await self._read(show_id, limit * 2 + 20):
            shown = _visible(entry, viewer_id)
            if shown is not None:
                out.append(shown)
                if len(out) >= limit:
                    break
        # Nodes append concurrently, so stream order may differ slightly from id order.
        out.sort(key=lambda e: int(e["id"]))
        return out

    async def find(self, show_id: int, message_id: int) -> dict[str, Any] | None:
        for entry in await self._read(show_id, self._size):
            if entry["id"] == message_id:
                return None if entry.get("_shadow") else entry
        return None

    async def latest(self, show_id: int) -> int:
        # Nodes append concurrently: the newest few entries hold the highest id.
        rows = await self._redis.xrevrange(self._keys(show_id)[0], count=50) or []
        return max((int(json.loads(_text(_field(f or {})))["id"]) for _, f in rows), default=0)

    async def hide(self, show_id: int, ids: list[int], user_id: str | None, upto: int) -> None:
        _, hidden_key, users_key = self._keys(show_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            if ids:
                pipe.sadd(hidden_key, *ids)
                pipe.expire(hidden_key, self._ttl)
            if user_id is not None:
                pipe.hset(users_key, user_id, str(upto))
                pipe.expire(users_key, self._ttl)
            await pipe.execute()


def _field(fields: dict[Any, Any]) -> bytes | str:
    value: bytes | str = fields[b"m"] if b"m" in fields else fields["m"]
    return value


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class BatchWriter:
    """Accepted messages are queued in memory and inserted in batches: every `interval`
    seconds or as soon as `batch` are waiting, and once more on stop. A failed write keeps
    the batch and retries (the database may be away); ids make inserts idempotent."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], dialect: str, *, interval: float = 0.5,
        batch: int = 500, max_pending: int = 500_000,
    ) -> None:
        self._sessions = sessions
        self._postgres = dialect == "postgresql"
        self._interval = interval
        self._batch = batch
        self._max_pending = max_pending
        self._pending: list[ChatMessage] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._hidden_ids: set[int] = set()
        self._hidden_users: dict[tuple[int, str], int] = {}
        self.written = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, message: ChatMessage) -> None:
        """Queue one message (no await: this is on the hot path)."""
        self._pending.append(message)
        if len(self._pending) >= self._batch:
            self._wake.set()
        if len(self._pending) > self._max_pending:
            dropped = len(self._pending) - self._max_pending
            del self._pending[:dropped]
            log.error("chat writer dropped %d unsaved messages (database away too long)", dropped)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="onair-chat-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for _attempt in range(3):
            try:
                await self.flush()
                return
            except Exception:
                log.exception("chat writer could not flush on stop")
                await asyncio.sleep(0.2)

    async def _run(self) -> None:
        delay = self._interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
            try:
                await self.flush()
                delay = self._interval
            except Exception as exc:
                log.warning("chat writer: %s; %d messages wait", exc, len(self._pending))
                delay = min(max(delay * 2, 0.5), 5.0)

    async def flush(self) -> None:
        """Write everything queued so far."""
        async with self._lock:
            while self._pending:
                chunk = self._pending[:1000]  # 10 columns: well under the bind limits
                rows = [self._row(m) for m in chunk]
                async with self._sessions.begin() as db:
                    # One cached statement run with many parameter sets: compiling a fresh
                    # multi-row VALUES per batch held the event loop for 100 ms and more.
                    await db.execute(_insert_ignore(self._postgres), rows)
                del self._pending[: len(chunk)]
                self.written += len(chunk)

    def _row(self, m: ChatMessage) -> dict[str, Any]:
        cutoff = self._hidden_users.get((m.show_id, m.user_id))
        hidden = m.id in self._hidden_ids or (cutoff is not None and m.id <= cutoff)
        return {
            "id": m.id, "show_id": m.show_id, "user_id": m.user_id, "nickname": m.nickname,
            "badges": " ".join(m.badges), "text": m.text,
            "reply_to": m.reply_to["id"] if m.reply_to else None,
            "at": m.at, "hidden": hidden, "shadow": m.shadow,
        }

    async def hide(self, show_id: int, ids: list[int], user_id: str | None, upto: int) -> None:
        """Mark messages hidden, whether still queued or already written."""
        async with self._lock:
            self._hidden_ids.update(ids)
            if user_id is not None:
                self._hidden_users[(show_id, user_id)] = upto
            if len(self._hidden_ids) > 100_000:
                self._hidden_ids = set(ids)
            conds: list[ColumnElement[bool]] = []
            if ids:
                conds.append(ChatMessageRow.id.in_(ids))
            if user_id is not None:
                conds.append((ChatMessageRow.user_id == user_id) & (ChatMessageRow.id <= upto))
            if not conds:
                return
            async with self._sessions.begin() as db:
                await db.execute(
                    update(ChatMessageRow)
                    .where(ChatMessageRow.show_id == show_id, or_(*conds))
                    .values(hidden=True)
                )


@cache
def _insert_ignore(postgres: bool) -> Any:
    if postgres:
        return postgresql.insert(ChatMessageRow).on_conflict_do_nothing()
    return sqlite.insert(ChatMessageRow).on_conflict_do_nothing()
