"""Two nodes sharing Redis: delivery once everywhere, exact viewer counts, hearts summed
once, resume on another node, and a dead node's viewers expiring."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.keys import HUB
from server.realtime import Hub
from tests.conftest import Node, StartNode
from tests.integration.realtime_support import Client, eventually, guest_token, new_show_id
from tests.integration.test_realtime import bare

TTL = 2  # seconds: the smallest presence expiry settings allow


@pytest.fixture
async def pair(start_node: StartNode, redis_url: str) -> tuple[Node, Node]:
    a = bare(await start_node(redis_url=redis_url, presence_ttl_seconds=TTL))
    b = bare(await start_node(redis_url=redis_url, presence_ttl_seconds=TTL))
    return a, b


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    opened: list[Client] = []
    yield opened
    for client in opened:
        await client.close()


async def on(node: Node, opened: list[Client], nick: str = "viewer") -> Client:
    client = await Client("/live").connect(node.url, auth={"token": guest_token(node.app, nick)})
    opened.append(client)
    return client


def hub(node: Node) -> Hub:
    return node.app[HUB]


async def test_publish_on_a_reaches_viewers_on_both_nodes_once(
    pair: tuple[Node, Node], clients: list[Client]
) -> None:
    a, b = pair
    show = new_show_id()
    here, there = await on(a, clients), await on(b, clients)
    await here.join(show)
    await there.join(show)
    pinned = await hub(a).publish(show, "pinned", {"product_id": 7})
    chat = await hub(a).publish(show, "chat", {"text": "hi"}, coalesce=True)
    end = await hub(b).publish(show, "pinned", {"product_id": 8})
    for client in (here, there):
        await client.wait_until(lambda c=client: len(c.named("pinned")) == 2)
        assert [p["id"] for p in client.named("pinned")] == [pinned, end]
        assert client.named("chat") == [{"id": chat, "text": "hi"}]


async def test_latest_values_cross_nodes(pair: tuple[Node, Node], clients: list[Client]) -> None:
    a, b = pair
    show = new_show_id()
    there = await on(b, clients)
    await there.join(show)
    hub(a).set_latest(show, "stock", {"3": 10})
    await there.wait_until(lambda: {"3": 10} in there.named("stock"))


async def test_viewer_count_is_exact_across_nodes(
    pair: tuple[Node, Node], clients: list[Client]
) -> None:
    a, b = pair
    show = new_show_id()
    on_a = [await on(a, clients) for _ in range(3)]
    on_b = [await on(b, clients) for _ in range(2)]
    for client in on_a + on_b:
        await client.join(show)
    await eventually(lambda: hub(a).viewers(show) == 5 and hub(b).viewers(show) == 5)
    for client in (on_a[0], on_b[0]):
        await client.wait_until(lambda c=client: c.named("viewers")[-1:] == [5])
    late = await on(b, clients)
    assert (await late.join(show))["state"]["viewers"] == 6
    await eventually(lambda: hub(a).viewers(show) == 6)
    assert (await late.call("leave", {}))["ok"]
    await on_b[1].close()
    await eventually(lambda: hub(a).viewers(show) == 4 and hub(b).viewers(show) == 4)
    assert hub(a).peak_viewers(show) == 6


async def test_clients_dropped_abruptly_leave_the_count(
    pair: tuple[Node, Node], clients: list[Client]
) -> None:
    a, b = pair
    show = new_show_id()
    for node, count in ((a, 2), (b, 3)):
        for _ in range(count):
            await (await on(node, clients)).join(show)
    await eventually(lambda: hub(a).viewers(show) == 5)
    for conn in list(hub(b).conns.values()):
        hub(b).drop(conn)
    await eventually(lambda: hub(a).viewers(show) == 2, timeout=TTL)


async def test_a_dead_nodes_viewers_expire(
    pair: tuple[Node, Node], clients: list[Client]
) -> None:
    a, b = pair
    show = new_show_id()
    for node, count in ((a, 1), (b, 3)):
        for _ in range(count):
            await (await on(node, clients)).join(show)
    await eventually(lambda: hub(a).viewers(show) == 4)
    # Node B freezes: its loops stop, so it never refreshes (or withdraws) its count.
    for task in hub(b)._tasks:
        task.cancel()
    stopped = time.monotonic()
    await eventually(lambda: hub(a).viewers(show) == 1, timeout=TTL + 1)
    assert time.monotonic() - stopped <= TTL + 0.5


async def test_hearts_are_summed_once_across_nodes(
    pair: tuple[Node, Node], clients: list[Client]
) -> None:
    a, b = pair
    show = new_show_id()
    here, there = await on(a, clients), await on(b, clients)
    await here.join(show)
    await there.join(show)
    sends: list[Any] = []
    for _ in range(20):
        sends.append(here.call("heart", {"count": 5}))
        sends.append(there.call("heart", {"count": 2}))
    assert all(ack["ok"] for ack in await asyncio.gather(*sends))
    for client in (here, there):
        await client.wait_until(lambda c=client: 140 in c.named("hearts"))
        assert max(client.named("hearts")) == 140
    await eventually(lambda: hub(a).hearts(show) == hub(b).hearts(show) == 140)


async def test_resume_on_another_node_gets_exactly_the_gap(
    pair: tuple[Node, Node], clients: list[Client]
) -> None:
    a, b = pair
    show = new_show_id()
    first = await on(a, clients, "mover")
    await first.join(show)
    ids = [await hub(a).publish(show, "chat", {"n": n}, coalesce=True) for n in range(10)]
    await first.wait_until(lambda: len(first.named("chat")) == 10)
    await first.close()
    gap = [await hub(b).publish(show, "chat", {"n": n}, coalesce=True) for n in range(10, 15)]
    second = await on(b, clients, "mover")
    ack = await second.join(show, after=ids[-1])
    assert [p["id"] for _, p in ack["missed"]] == gap
    assert [p["n"] for _, p in ack["missed"]] == list(range(10, 15))
    assert ack["reset"] is False
    assert ack["cursor"] == gap[-1]
