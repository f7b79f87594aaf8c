"""static/js/socket.js in headless Chromium: join, ticks unpacked into events, acks, and a
resume after the server drops the connection that delivers the gap exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from server.keys import HUB
from tests.conftest import Node, StartNode
from tests.integration.realtime_support import eventually, guest_token, new_show_id
from tests.integration.test_realtime import bare

pytestmark = pytest.mark.browser

OPEN = """
async ([token, showId]) => {
  const { connect } = await import("/static/js/socket.js");
  window.seen = [];
  window.statuses = [];
  const s = connect("/live", { auth: { token } });
  window.sock = s;
  for (const name of ["pinned", "chat", "viewers", "hearts", "stock", "state"]) {
    s.on(name, (data) => window.seen.push([name, data]));
  }
  s.on("status", (st) => window.statuses.push(st));
  const ack = await s.join(showId);
  const heart = await s.emit("heart", { count: 2 });
  const bad = await s.emit("heart", { count: 0 });
  return { ack, heart, bad };
}
"""


@pytest.fixture
async def page(browser: Any) -> Any:
    return await browser.new_page()


async def seen(page: Any, name: str) -> list[Any]:
    items: list[Any] = await page.evaluate(
        "(name) => window.seen.filter((e) => e[0] === name).map((e) => e[1])", name)
    return items


async def test_socket_js_joins_unpacks_ticks_and_resumes(page: Any, start_node: StartNode) -> None:
    node: Node = bare(await start_node())
    hub = node.app[HUB]
    show = new_show_id()
    await page.goto(node.url + "/static/css/onair.css")
    opened = await page.evaluate(OPEN, [guest_token(node.app, "browser"), show])
    assert opened["ack"]["ok"] is True
    assert opened["heart"] == {"ok": True}
    assert opened["bad"]["error"] == "invalid_payload"
    assert (await seen(page, "state"))[0] == {"viewers": 1, "hearts": 0}

    before = [await hub.publish(show, "chat", {"n": n}, coalesce=True) for n in range(3)]
    await hub.publish(show, "pinned", {"product_id": 4})
    hub.set_latest(show, "stock", {"4": 9})

    async def chats() -> list[Any]:
        return await seen(page, "chat")

    await eventually(lambda: _has(chats(), 3))
    await eventually(lambda: _has(seen(page, "stock"), 1))
    await eventually(lambda: _contains(seen(page, "hearts"), 2))

    # The server drops the connection; events keep coming while the page is away.
    for conn in list(hub.conns.values()):
        hub.drop(conn)
    await eventually(lambda: _contains(page.evaluate("window.statuses"), "reconnecting"))
    gap = [await hub.publish(show, "chat", {"n": n}, coalesce=True) for n in range(3, 6)]
    await eventually(lambda: _has(chats(), 6), timeout=10)
    after = [await hub.publish(show, "chat", {"n": n}, coalesce=True) for n in range(6, 8)]
    await eventually(lambda: _has(chats(), 8))
    got = await chats()
    assert [c["n"] for c in got] == list(range(8))
    assert [c["id"] for c in got] == before + gap + after
    assert len(await seen(page, "state")) == 2  # the re-join's snapshot
    assert (await seen(page, "pinned"))[0]["product_id"] == 4
    await page.evaluate("window.sock.close()")


async def _has(items: Any, count: int) -> bool:
    return len(await items) >= count


async def _contains(items: Any, value: Any) -> bool:
    return value in await items
