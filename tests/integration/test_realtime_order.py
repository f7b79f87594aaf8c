"""Events published at once on two nodes reach a viewer on a third node out of id order
(one publisher's Redis link is slow), yet page code sees every id exactly once."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from server.keys import HUB
from tests.conftest import Node, StartNode, service_missing
from tests.integration.realtime_support import Client, eventually, guest_token, new_show_id
from tests.integration.tcp_proxy import TcpProxy
from tests.integration.test_realtime import bare

SCRIPT = Path(__file__).resolve().parent.parent / "js" / "onair_client.mjs"
PER_PUBLISHER = 60
PUBLISHERS = 4  # concurrent tasks per node
DEADLINE = 30.0


@pytest.fixture
async def slow_link(redis_url: str) -> AsyncIterator[TcpProxy]:
    parts = urlsplit(redis_url)
    link = await TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379,
                          delay=0.02).start()
    yield link
    await link.close()


class PageClient:
    """static/js/socket.js in Node: the events its page code would see."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.ids: list[int] = []
        self.joined = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while raw := await self.proc.stdout.readline():
            line: dict[str, Any] = json.loads(raw)
            if line["step"] == "joined":
                self.joined.set()
            elif line["step"] == "event":
                self.ids.append(line["id"])

    async def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        await self._reader


@pytest.fixture
async def page(start_node: StartNode) -> AsyncIterator[list[PageClient]]:
    opened: list[PageClient] = []
    yield opened
    for client in opened:
        await client.close()


async def publish_many(node: Node, show: int, tag: str) -> list[int]:
    """Publishers on one node, all at once; every other event coalesced."""
    hub = node.app[HUB]

    async def one(worker: int) -> list[int]:
        ids = []
        for n in range(PER_PUBLISHER):
            event_id = await hub.publish(show, "chat", {"text": f"{tag}{worker}-{n}"},
                                         coalesce=n % 2 == 0)
            assert event_id is not None
            ids.append(event_id)
        return ids

    batches = await asyncio.gather(*(one(w) for w in range(PUBLISHERS)))
    return [event_id for batch in batches for event_id in batch]


async def test_concurrent_publishers_on_two_nodes_reach_page_code_exactly_once(
    start_node: StartNode, redis_url: str, slow_link: TcpProxy, page: list[PageClient]
) -> None:
    node_bin = shutil.which("node")
    if node_bin is None:
        service_missing("Node.js", "node is not installed")
    parts = urlsplit(redis_url)
    slow_url = redis_url.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{slow_link.port}")
    a = bare(await start_node(redis_url=slow_url))
    b = bare(await start_node(redis_url=redis_url))
    c = bare(await start_node(redis_url=redis_url))
    show = new_show_id()
    raw = await Client("/live").connect(c.url, auth={"token": guest_token(c.app)})
    try:
        assert (await raw.join(show))["ok"]
        proc = await asyncio.create_subprocess_exec(
            node_bin, "--experimental-websocket", "--no-warnings", str(SCRIPT), c.url,
            guest_token(c.app, "page"), str(show), "chat",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        viewer = PageClient(proc)
        page.append(viewer)
        await asyncio.wait_for(viewer.joined.wait(), 10)

        from_a, from_b = await asyncio.gather(publish_many(a, show, "a"),
                                              publish_many(b, show, "b"))
        sent = sorted(from_a + from_b)
        assert len(set(sent)) == len(sent) == 2 * PUBLISHERS * PER_PUBLISHER

        def arrived() -> list[int]:
            return [p["id"] for p in raw.named("chat")]

        await eventually(lambda: len(arrived()) >= len(sent), within=DEADLINE)
        await eventually(lambda: len(viewer.ids) >= len(sent), within=DEADLINE)
        # The wire really did carry older ids after newer ones...
        assert arrived() != sorted(arrived()), "the slow link did not reorder anything"
        assert sorted(arrived()) == sent
        # ...and page code still saw each id once: none dropped as "old", none twice.
        assert sorted(viewer.ids) == sent
    finally:
        await raw.close()
