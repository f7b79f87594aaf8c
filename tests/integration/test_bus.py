"""RedisBus against real Redis: local delivery once, every other node once, across two apps."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from server.bus import RedisBus
from server.keys import BUS
from tests.conftest import StartNode

DEADLINE = 10.0


class Inbox:
    """Collects messages and lets a test wait for one by its key."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    def __call__(self, message: dict[str, Any]) -> None:
        self.items.append(message)
        self._changed.set()

    async def wait_for(self, key: str) -> None:
        async def seen() -> None:
            while not any(m.get("k") == key for m in self.items):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(seen(), DEADLINE)

    def count(self, key: str) -> int:
        return sum(1 for m in self.items if m.get("k") == key)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def wait_subscribers(redis: Redis, channel: str, count: int) -> None:
    """Redis confirms the subscriptions, so nothing published next can be missed."""
    async def subscribed() -> None:
        while True:
            pairs = await redis.pubsub_numsub(channel)
            if pairs and pairs[0][1] >= count:
                return
            await asyncio.sleep(0.02)

    await asyncio.wait_for(subscribed(), DEADLINE)


async def test_two_redis_buses_exchange_exactly_once(redis: Redis, redis_url: str,
                                                      redis_prefix: str) -> None:
    prefix = redis_prefix + "bus:"
    client_a, client_b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    a = RedisBus(client_a, "node-a", prefix=prefix)
    b = RedisBus(client_b, "node-b", prefix=prefix)
    inbox_a, inbox_b = Inbox(), Inbox()
    a.subscribe("show:7", inbox_a)
    b.subscribe("show:7", inbox_b)
    await a.start()
    await b.start()
    try:
        assert a.healthy
        assert b.healthy
        await wait_subscribers(redis, prefix + "show:7", 2)
        await a.publish("show:7", {"k": "from-a"})
        # The publisher's own handlers run at once, before Redis is involved.
        assert inbox_a.count("from-a") == 1
        await inbox_b.wait_for("from-a")
        await b.publish("show:7", {"k": "from-b"})
        assert inbox_b.count("from-b") == 1
        await inbox_a.wait_for("from-b")
        # Redis keeps order per connection: once these markers arrive, any duplicate
        # of the earlier messages would have arrived before them.
        await a.publish("show:7", {"k": "marker-a"})
        await b.publish("show:7", {"k": "marker-b"})
        await inbox_a.wait_for("marker-b")
        await inbox_b.wait_for("marker-a")
        for inbox in (inbox_a, inbox_b):
            assert [m["k"] for m in inbox.items].count("from-a") == 1
            assert [m["k"] for m in inbox.items].count("from-b") == 1
    finally:
        await a.close()
        await b.close()
        await client_a.aclose()
        await client_b.aclose()


async def test_other_prefix_hears_nothing(redis: Redis, redis_url: str, redis_prefix: str) -> None:
    client_a, client_b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    a = RedisBus(client_a, "node-a", prefix=redis_prefix + "one:")
    b = RedisBus(client_b, "node-b", prefix=redis_prefix + "two:")
    heard_b, marker = Inbox(), Inbox()
    b.subscribe("c", heard_b)
    b.subscribe("done", marker)
    await a.start()
    await b.start()
    try:
        await wait_subscribers(redis, redis_prefix + "two:done", 1)
        await a.publish("c", {"k": "private"})
        await a.publish("done", {"k": "x"})  # not b's prefix either
        await redis.publish(redis_prefix + "two:done", '{"o": "elsewhere", "m": {"k": "end"}}')
        await marker.wait_for("end")
        assert heard_b.items == []
    finally:
        await a.close()
        await b.close()
        await client_a.aclose()
        await client_b.aclose()


async def test_subscribing_after_start_and_malformed_messages(
    redis: Redis, redis_url: str, redis_prefix: str
) -> None:
    prefix = redis_prefix + "bus:"
    client = Redis.from_url(redis_url)
    bus = RedisBus(client, "node-a", prefix=prefix)
    await bus.start()
    try:
        inbox = Inbox()
        bus.subscribe("late", inbox)
        await wait_subscribers(redis, prefix + "late", 1)
        await redis.publish(prefix + "late", b"not json")
        await redis.publish(prefix + "late", '{"o": "node-a", "m": {"k": "echo"}}')
        await redis.publish(prefix + "late", '{"o": "node-b", "m": {"k": "real"}}')
        await inbox.wait_for("real")
        # Its own echo (same node id) is skipped: local delivery already happened.
        assert [m["k"] for m in inbox.items] == ["real"]
    finally:
        await bus.close()
        await client.aclose()


async def test_two_app_nodes_share_redis_and_exchange_once_each_way(
    start_node: StartNode, redis_url: str, redis: Redis, redis_prefix: str
) -> None:
    one = await start_node(redis_url=redis_url)
    two = await start_node(redis_url=redis_url)
    bus_one, bus_two = one.app[BUS], two.app[BUS]
    assert isinstance(bus_one, RedisBus)
    assert bus_one.node_id != bus_two.node_id
    channel = "test:" + secrets.token_hex(4)
    inbox_one, inbox_two = Inbox(), Inbox()
    bus_one.subscribe(channel, inbox_one)
    bus_two.subscribe(channel, inbox_two)
    await wait_subscribers(redis, redis_prefix + "bus:" + channel, 2)

    await bus_one.publish(channel, {"k": "hello-from-one"})
    assert inbox_one.count("hello-from-one") == 1
    await inbox_two.wait_for("hello-from-one")
    await bus_two.publish(channel, {"k": "hello-from-two"})
    assert inbox_two.count("hello-from-two") == 1
    await inbox_one.wait_for("hello-from-two")

    await bus_one.publish(channel, {"k": "end-one"})
    await bus_two.publish(channel, {"k": "end-two"})
    await inbox_one.wait_for("end-two")
    await inbox_two.wait_for("end-one")
    for inbox in (inbox_one, inbox_two):
        assert inbox.count("hello-from-one") == 1
        assert inbox.count("hello-from-two") == 1
        assert inbox.count("end-one") == 1
        assert inbox.count("end-two") == 1
