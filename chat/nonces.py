"""Client nonces: the same (user, nonce) sent twice gives one message and the same ack."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("onair.chat")

Ack = dict[str, Any]


class Nonces(Protocol):
    async def begin(self, key: str) -> Ack | None:
        """None: go ahead (the key is now in flight). Otherwise the earlier ack."""
        ...

    async def settle(self, key: str, ack: Ack) -> None:
        """Record the ack of a key begun here; failures are forgotten so a retry runs."""
        ...


class MemoryNonces:
    """This node's recent keys; a duplicate arriving while the first is in flight waits
    for the first one's ack."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._max = max_keys
        self._items: OrderedDict[str, Ack | asyncio.Future[Ack]] = OrderedDict()

    async def begin(self, key: str) -> Ack | None:
        hit = self._items.get(key)
        if hit is None:
            self._items[key] = asyncio.get_running_loop().create_future()
            if len(self._items) > self._max:
                self._items.popitem(last=False)
            return None
        if isinstance(hit, asyncio.Future):
            return await asyncio.shield(hit)
        return hit

    async def settle(self, key: str, ack: Ack) -> None:
        hit = self._items.get(key)
        if isinstance(hit, asyncio.Future) and not hit.done():
            hit.set_result(ack)
        if ack.get("ok"):
            self._items[key] = ack
        else:
            self._items.pop(key, None)


class RedisNonces:
    """Across nodes: a client that reconnects elsewhere and resends still gets one message."""

    def __init__(self, redis: Redis, prefix: str, ttl: int = 600) -> None:
        self._redis = redis
        self._prefix = prefix + "chat:nonce:"
        self._ttl = ttl
        self._local = MemoryNonces()

    async def begin(self, key: str) -> Ack | None:
        local = await self._local.begin(key)
        if local is not None:
            return local
        name = self._prefix + key
        try:
            if await self._redis.set(name, "", nx=True, ex=self._ttl):
                return None
            stored = await self._redis.get(name)
        except (RedisError, OSError) as exc:
            log.warning("chat nonce check skipped: %s", exc)
            return None
        if stored:
            ack: Ack = json.loads(stored)
            await self._local.settle(key, ack)
            return ack
        pending: Ack = {"ok": False, "error": "duplicate_pending", "retry_after": 1.0}
        await self._local.settle(key, pending)
        return pending

    async def settle(self, key: str, ack: Ack) -> None:
        await self._local.settle(key, ack)
        name = self._prefix + key
        try:
            if ack.get("ok"):
                await self._redis.set(name, json.dumps(ack), ex=self._ttl)
            else:
                await self._redis.delete(name)
        except (RedisError, OSError) as exc:
            log.warning("chat nonce not recorded: %s", exc)
