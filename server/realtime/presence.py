"""Viewer presence and heart totals per show, exact across nodes through Redis.

Each node writes its own viewer count per show into a Redis hash with an expiry and
gets back the total over live nodes, the peak and a version (one Lua script, so the
versions order the totals). A node that dies stops refreshing and its count drops out
when its entry expires. Hearts are one INCRBY per show per tick on the node that got
them. Without Redis, or while Redis is away, the node counts only itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("onair.realtime")

COUNTS_TTL_SECONDS = 7 * 24 * 3600

_PRESENCE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local node, count = ARGV[1], tonumber(ARGV[2])
if count > 0 then
  redis.call('HSET', KEYS[1], 'c:' .. node, count, 'e:' .. node, now + tonumber(ARGV[3]))
else
  redis.call('HDEL', KEYS[1], 'c:' .. node, 'e:' .. node)
end
local all = redis.call('HGETALL', KEYS[1])
local counts, expiries = {}, {}
for i = 1, #all, 2 do
  local kind, id = string.sub(all[i], 1, 2), string.sub(all[i], 3)
  if kind == 'c:' then counts[id] = tonumber(all[i + 1]) end
  if kind == 'e:' then expiries[id] = tonumber(all[i + 1]) end
end
local total = 0
for id, c in pairs(counts) do
  local e = expiries[id]
  if e == nil or e < now then
    redis.call('HDEL', KEYS[1], 'c:' .. id, 'e:' .. id)
  else
    total = total + c
  end
end
local peak = tonumber(redis.call('HGET', KEYS[1], 'peak') or '0')
if total > peak then
  peak = total
  redis.call('HSET', KEYS[1], 'peak', peak)
end
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {total, peak, v}
"""


@dataclass(slots=True)
class Viewers:
    """What this node knows of one show's audience."""

    local: int = 0  # viewers joined on this node now
    written: int = 0  # the local count in the newest total below
    total: int = 0  # newest total over all nodes (confirmed by Redis)
    version: int = 0
    peak: int = 0

    @property
    def estimate(self) -> int:
        """The newest total with this node's unwritten joins and leaves applied."""
        return max(0, self.total - self.written + self.local)


class Counters:
    """Presence and hearts; Redis when given, else this node alone."""

    def __init__(self, redis: Redis | None, prefix: str, node_id: str, ttl_seconds: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._node = node_id
        # Refreshed every ttl/3; an entry lives 2/3 ttl, so a dead node is gone within ttl.
        self._lifetime_ms = ttl_seconds * 2000 // 3
        self._script: Any = redis.register_script(_PRESENCE) if redis is not None else None
        self.viewers: dict[int, Viewers] = {}
        self.hearts: dict[int, int] = {}
        self._degraded = False

    @property
    def shared(self) -> bool:
        return self._redis is not None

    def of(self, show_id: int) -> Viewers:
        found = self.viewers.get(show_id)
        if found is None:
            found = self.viewers[show_id] = Viewers()
        return found

    def changed(self, show_id: int, delta: int) -> None:
        """A viewer joined (+1) or left (-1) on this node."""
        entry = self.of(show_id)
        entry.local = max(0, entry.local + delta)
        if self._redis is None:
            entry.total = entry.written = entry.local
            entry.peak = max(entry.peak, entry.total)

    def forget(self, show_id: int) -> None:
        self.viewers.pop(show_id, None)
        self.hearts.pop(show_id, None)

    async def sync(self, show_id: int) -> tuple[int, int, int] | None:
        """Write this node's count and read the total: (total, peak, version), or None
        without Redis or when it fails (then the estimate is this node's own count)."""
        if self._script is None:
            return None
        entry = self.of(show_id)
        local = entry.local
        try:
            total, peak, version = await self._script(
                keys=[f"{self._prefix}viewers:{show_id}"],
                args=[self._node, local, self._lifetime_ms, COUNTS_TTL_SECONDS],
            )
        except (RedisError, OSError) as exc:
            self._lost(exc)
            entry.total, entry.written = entry.local, entry.local
            entry.peak = max(entry.peak, entry.total)
            return None
        self._back()
        entry.written = local
        self.confirm(show_id, int(total), int(peak), int(version))
        return int(total), int(peak), int(version)

    def confirm(self, show_id: int, total: int, peak: int, version: int) -> bool:
        """A total from any node; the newest version wins. True when it was news."""
        entry = self.of(show_id)
        if version <= entry.version:
            return False
        entry.total, entry.version = total, version
        entry.peak = max(entry.peak, peak, total)
        return True

    async def add_hearts(self, show_id: int, count: int) -> int:
        """Add hearts once for all nodes; returns the show's new total."""
        if self._redis is not None:
            try:
                key = f"{self._prefix}hearts:{show_id}"
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.incrby(key, count)
                    pipe.expire(key, COUNTS_TTL_SECONDS)
                    total, _ = await pipe.execute()
            except (RedisError, OSError) as exc:
                self._lost(exc)
            else:
                self._back()
                self.hearts[show_id] = max(self.hearts.get(show_id, 0), int(total))
                return self.hearts[show_id]
        self.hearts[show_id] = self.hearts.get(show_id, 0) + count
        return self.hearts[show_id]

    async def load_hearts(self, show_id: int) -> int:
        """The show's heart total (read once from Redis when this node has not seen it)."""
        if show_id not in self.hearts and self._redis is not None:
            try:
                raw = await self._redis.get(f"{self._prefix}hearts:{show_id}")
            except (RedisError, OSError) as exc:
                self._lost(exc)
            else:
                self._back()
                self.hearts[show_id] = max(self.hearts.get(show_id, 0), int(raw or 0))
        return self.hearts.get(show_id, 0)

    def heard(self, show_id: int, total: int) -> bool:
        """A heart total from the bus. True when it raised what this node knew."""
        if total <= self.hearts.get(show_id, 0):
            return False
        self.hearts[show_id] = total
        return True

    async def withdraw(self) -> None:
        """Remove this node's viewers from every show (clean shutdown)."""
        for show_id, entry in list(self.viewers.items()):
            entry.local = 0
            await self.sync(show_id)

    def _lost(self, exc: BaseException) -> None:
        if not self._degraded:
            log.warning("realtime counters lost Redis (%s); counting this node only", exc)
        self._degraded = True

    def _back(self) -> None:
        if self._degraded:
            log.info("realtime counters reached Redis again")
        self._degraded = False
