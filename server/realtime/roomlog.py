"""Bounded room log per show for resume: a Redis Stream, or an in-memory ring.

Event ids are `max(now in µs, last id + 1)`, so they increase strictly per show across
nodes and restarts and fit a JavaScript number. A log also knows its floor: the newest
id it has forgotten (trimmed, or from before this process for the ring). A client whose
last id is below the floor cannot be given exactly what it missed: it gets `reset`.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis

Entry = tuple[int, str, dict[str, Any]]
LOG_TTL_SECONDS = 3 * 24 * 3600


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(slots=True)
class Missed:
    """What a joining client gets: entries after its id, or reset when some are gone."""

    entries: list[Entry]
    reset: bool
    last: int | None


class RoomLog(Protocol):
    async def append(self, show_id: int, event: str, payload_json: str, staff_only: bool) -> int:
        """Store an event (its payload as JSON without the id); return its id."""
        ...

    async def read(self, show_id: int, after: int | None, staff: bool) -> Missed: ...


@dataclass(slots=True)
class _Ring:
    entries: deque[tuple[int, str, str, bool]]
    floor: int
    last: int = 0


class MemoryLog:
    """The embedded default: one ring per show, lost on restart (hence the floor)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._rings: dict[int, _Ring] = {}
        # Anything older than this process is unknown here.
        self._born = now_us()

    def _ring(self, show_id: int) -> _Ring:
        ring = self._rings.get(show_id)
        if ring is None:
            ring = self._rings[show_id] = _Ring(deque(), self._born, self._born)
        return ring

    def next_id(self, show_id: int) -> int:
        ring = self._ring(show_id)
        ring.last = max(now_us(), ring.last + 1)
        return ring.last

    async def append(self, show_id: int, event: str, payload_json: str, staff_only: bool) -> int:
        return self.append_now(show_id, event, payload_json, staff_only)

    def append_now(self, show_id: int, event: str, payload_json: str, staff_only: bool) -> int:
        ring = self._ring(show_id)
        event_id = self.next_id(show_id)
        ring.entries.append((event_id, event, payload_json, staff_only))
        if len(ring.entries) > self._size:
            ring.floor = ring.entries.popleft()[0]
        return event_id

    def note(self, show_id: int, event_id: int) -> None:
        """An id logged in Redis: keep new ids above it, and, when this ring stands in
        for Redis, answer `reset` to anyone resuming from before it (the ring lacks it)."""
        ring = self._ring(show_id)
        ring.last = max(ring.last, event_id)
        ring.floor = max(ring.floor, event_id)

    def knows(self, show_id: int) -> bool:
        return show_id in self._rings

    async def read(self, show_id: int, after: int | None, staff: bool) -> Missed:
        ring = self._rings.get(show_id)
        last = ring.last if ring is not None and ring.last != self._born else None
        if after is None or ring is None:
            return Missed([], False, last)
        if after < ring.floor:
            return Missed([], True, last)
        entries = [
            (event_id, event, _with_id(payload_json, event_id))
            for event_id, event, payload_json, staff_only in ring.entries
            if event_id > after and (staff or not staff_only)
        ]
        return Missed(entries, False, last)


# KEYS: stream, last id, floor. ARGV: size, event, payload, staff flag, ttl, slack.
# Trimming is exact but batched: once the stream holds `slack` more than `size`, the
# oldest go and the newest of them becomes the floor.
_APPEND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local id = now
if id <= last then id = last + 1 end
local sid = string.format('%.0f', id)
redis.call('SET', KEYS[2], sid, 'EX', ARGV[5])
redis.call('XADD', KEYS[1], sid .. '-0', 'e', ARGV[2], 'p', ARGV[3], 's', ARGV[4])
local size = tonumber(ARGV[1])
local extra = redis.call('XLEN', KEYS[1]) - size
if extra >= tonumber(ARGV[6]) then
  local gone = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', extra)
  redis.call('SET', KEYS[3], string.match(gone[#gone][1], '^(%d+)'), 'EX', ARGV[5])
  redis.call('XTRIM', KEYS[1], 'MAXLEN', size)
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return sid
"""

# Returns {floor, last, entries}. No stream but a last id: everything is forgotten.
_READ = """
local last = redis.call('GET', KEYS[2]) or '0'
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {last, last, {}}
end
local floor = redis.call('GET', KEYS[3]) or '0'
if ARGV[1] == '' then
  return {floor, last, {}}
end
return {floor, last, redis.call('XRANGE', KEYS[1], '(' .. ARGV[1] .. '-0', '+')}
"""


class RedisLog:
    """A Redis Stream per show holding at least `size` entries; ids from one Lua script."""

    def __init__(self, redis: Redis, prefix: str, size: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._size = size
        self._append: Any = redis.register_script(_APPEND)
        self._read: Any = redis.register_script(_READ)

    def _keys(self, show_id: int) -> list[str]:
        return [f"{self._prefix}log:{show_id}", f"{self._prefix}logseq:{show_id}",
                f"{self._prefix}logfloor:{show_id}"]

    async def append(self, show_id: int, event: str, payload_json: str, staff_only: bool) -> int:
        raw = await self._append(
            keys=self._keys(show_id),
            args=[self._size, event, payload_json, "1" if staff_only else "0",
                  LOG_TTL_SECONDS, max(10, self._size // 10)],
        )
        return int(raw)

    async def read(self, show_id: int, after: int | None, staff: bool) -> Missed:
        floor_raw, last_raw, rows = await self._read(
            keys=self._keys(show_id), args=["" if after is None else str(after)]
        )
        floor, last = int(floor_raw), int(last_raw)
        last_id = last or None
        if after is None:
            return Missed([], False, last_id)
        if after < floor:
            return Missed([], True, last_id)
        entries: list[Entry] = []
        for raw_id, fields in rows:
            values = _pairs(fields)
            if values.get("s") == "1" and not staff:
                continue
            event_id = int(_text(raw_id).split("-", 1)[0])
            payload = _with_id(values.get("p", "{}"), event_id)
            entries.append((event_id, values.get("e", ""), payload))
        return Missed(entries, False, last_id)


def _with_id(payload_json: str, event_id: int) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(payload_json)
    payload["id"] = event_id
    return payload


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pairs(fields: Any) -> dict[str, str]:
    items = [_text(item) for item in fields]
    return dict(zip(items[0::2], items[1::2], strict=False))
