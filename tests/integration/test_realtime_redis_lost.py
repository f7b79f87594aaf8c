"""Redis lost under a node: it stays up, serves its own viewers, says degraded, recovers.

Node A reaches Redis through a TCP proxy the test cuts and restores; node B talks to Redis
directly. The shared Redis itself is never touched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from server.keys import HUB
from tests.conftest import Node, StartNode
from tests.integration.realtime_support import Client, eventually, guest_token, new_show_id
from tests.integration.tcp_proxy import TcpProxy
from tests.integration.test_realtime import bare

DEADLINE = 20.0


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[TcpProxy]:
    parts = urlsplit(redis_url)
    link = await TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379).start()
    yield link
    await link.close()


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    opened: list[Client] = []
    yield opened
    for client in opened:
        await client.close()


async def on(node: Node, opened: list[Client]) -> Client:
    client = await Client("/live").connect(node.url, auth={"token": guest_token(node.app)})
    opened.append(client)
    return client


async def readyz(node: Node) -> dict[str, Any]:
    async with node.http.get("/readyz") as resp:
        assert resp.status == 200  # the database is fine: degraded still serves
        body: dict[str, Any] = await resp.json()
        return body


def ids(client: Client, name: str) -> list[int]:
    return [payload["id"] for payload in client.named(name)]


async def test_node_serves_its_viewers_without_redis_and_recovers(
    start_node: StartNode, redis_url: str, proxy: TcpProxy, clients: list[Client]
) -> None:
    parts = urlsplit(redis_url)
    via_proxy = redis_url.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}")
    a = bare(await start_node(redis_url=via_proxy, presence_ttl_seconds=2))
    b = bare(await start_node(redis_url=redis_url, presence_ttl_seconds=2))
    show = new_show_id()
    here, there = await on(a, clients), await on(b, clients)
    assert (await here.join(show))["ok"]
    assert (await there.join(show))["ok"]

    async def is_ready() -> bool:
        return (await readyz(a))["status"] == "ready"

    await eventually(is_ready, within=DEADLINE)
    first = await b.app[HUB].publish(show, "pinned", {"product_id": 1})
    await here.wait_until(lambda: first in ids(here, "pinned"))

    proxy.cut()

    async def is_degraded() -> bool:
        body = await readyz(a)
        return body["status"] == "degraded" and body["checks"]["redis"] in ("down",
                                                                           "reconnecting")

    await eventually(is_degraded, within=DEADLINE)
    # Local delivery goes on: plain and coalesced events, with ids, reach A's viewers.
    alone = await a.app[HUB].publish(show, "pinned", {"product_id": 2})
    said = await a.app[HUB].publish(show, "chat", {"text": "still here"}, coalesce=True)
    assert alone is not None
    assert said is not None
    assert first < alone < said
    await here.wait_until(lambda: alone in ids(here, "pinned") and said in ids(here, "chat"))
    # Joins still work (the in-memory log and counts stand in), and resume says reset
    # rather than pretend to know what Redis holds.
    late = await on(a, clients)
    ack = await late.join(show, after=first - 1)
    assert ack["ok"]
    assert ack["reset"] is True
    again = await on(a, clients)
    ack = await again.join(show, after=alone)
    assert ack["ok"]
    assert ack["reset"] is False
    assert [payload["id"] for _, payload in ack["missed"]] == [said]
    assert (await readyz(a))["status"] == "degraded"

    proxy.restore()
    await eventually(is_ready, within=DEADLINE)
    # Cross-node delivery is back, both ways.
    to_a = await b.app[HUB].publish(show, "pinned", {"product_id": 3})
    to_b = await a.app[HUB].publish(show, "pinned", {"product_id": 4})
    await here.wait_until(lambda: to_a in ids(here, "pinned"), timeout=DEADLINE)
    await there.wait_until(lambda: to_b in ids(there, "pinned"), timeout=DEADLINE)
    assert ids(here, "pinned") == sorted(ids(here, "pinned"))
