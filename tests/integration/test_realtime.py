"""The real-time hub on one node (in-memory and Redis-backed): join, publish, ticks, hearts,
resume, staff namespace, bad payloads. Real servers, real `socketio.AsyncClient`s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import socketio

from server.errors import Conflict
from server.keys import HUB
from server.realtime import Hub
from tests.conftest import Node, StartNode, api_token
from tests.integration.realtime_support import Client, eventually, guest_token, new_show_id

Connect = Callable[..., Awaitable[Client]]


def bare(node: Node) -> Node:
    """The hub alone: no show checks, state or stats from the contexts (tested there)."""
    hub = node.app[HUB]
    hub.set_show_checker(None)
    hub.state_providers.clear()
    hub.stats_providers.clear()
    hub.join_hooks.clear()
    hub.leave_hooks.clear()
    return node


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """The hub's backing: in-memory (no Redis) or Redis (room log, counters, bus)."""
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        return url
    return None


@pytest.fixture
async def one(backend: str | None, start_node: StartNode) -> Node:
    return bare(await start_node(redis_url=backend))


@pytest.fixture
async def viewer(one: Node) -> AsyncIterator[Connect]:
    """Connect a viewer to `/live` with a fresh guest token; all are closed afterwards."""
    opened: list[Client] = []

    async def open_client(nick: str = "viewer", **kwargs: Any) -> Client:
        client = await Client("/live").connect(
            one.url, auth={"token": guest_token(one.app, nick)}, **kwargs)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.close()


def hub_of(node: Node) -> Hub:
    return node.app[HUB]


async def test_join_returns_state_with_providers_and_counts(one: Node, viewer: Connect) -> None:
    show = new_show_id()

    async def provider(show_id: int, principal: Any) -> dict[str, Any]:
        return {"show": {"id": show_id, "status": "live"}, "who": principal.name}

    hub_of(one).add_state_provider(provider)
    client = await viewer("mina")
    ack = await client.join(show)
    assert ack == {
        "ok": True,
        "state": {"show": {"id": show, "status": "live"}, "who": "mina",
                  "viewers": 1, "hearts": 0},
        "missed": [], "reset": False, "cursor": None,
    }
    second = await viewer()
    assert (await second.join(show))["state"]["viewers"] == 2
    await client.wait_until(lambda: 2 in client.named("viewers"))


async def test_publish_reaches_every_viewer_of_the_show_once(one: Node, viewer: Connect) -> None:
    hub = hub_of(one)
    show = new_show_id()
    clients = [await viewer(f"v{i}") for i in range(5)]
    for client in clients:
        assert (await client.join(show))["ok"]
    elsewhere = await viewer()
    await elsewhere.join(new_show_id())

    first = await hub.publish(show, "pinned", {"product_id": 12})
    second = await hub.publish(show, "pinned", {"product_id": 13, "id": "ignored"})
    assert first is not None
    assert second is not None
    assert second > first
    for client in clients:
        await client.wait_until(lambda c=client: len(c.named("pinned")) == 2)
        assert client.named("pinned") == [
            {"id": first, "product_id": 12}, {"id": second, "product_id": 13},
        ]
        assert client.ticks == [] or all("events" not in t for t in client.ticks)
    assert elsewhere.named("pinned") == []


async def test_coalesced_events_arrive_in_few_ticks_in_order(one: Node, viewer: Connect) -> None:
    hub = hub_of(one)
    show = new_show_id()
    client = await viewer()
    await client.join(show)
    ids = [await hub.publish(show, "chat", {"n": n}, coalesce=True) for n in range(200)]
    await hub.publish(show, "pinned", {"product_id": 1})  # flushes what is pending first
    await client.wait_until(lambda: bool(client.named("pinned")))
    chats = client.named("chat")
    assert [c["n"] for c in chats] == list(range(200))
    assert [c["id"] for c in chats] == ids
    ticks_with_chat = [t for t in client.ticks if "events" in t]
    assert len(ticks_with_chat) < 50  # 200 events, far fewer frames
    names = [name for name, _ in client.events if name in ("chat", "pinned")]
    assert names[-1] == "pinned"  # never overtakes pending chat


async def test_hearts_are_coalesced_and_exact(one: Node, viewer: Connect) -> None:
    show = new_show_id()
    sender, watcher = await viewer(), await viewer()
    await sender.join(show)
    await watcher.join(show)
    acks = await asyncio.gather(*(sender.call("heart", {"count": 3}) for _ in range(100)))
    assert all(ack == {"ok": True} for ack in acks)
    await watcher.wait_until(lambda: 300 in watcher.named("hearts"))
    heart_ticks = [t for t in watcher.ticks if "hearts" in t]
    assert len(heart_ticks) < 30
    assert max(watcher.named("hearts")) == 300
    assert hub_of(one).hearts(show) == 300
    late = await viewer()
    assert (await late.join(show))["state"]["hearts"] == 300


async def test_latest_values_merge_into_the_next_tick(one: Node, viewer: Connect) -> None:
    hub = hub_of(one)
    show = new_show_id()
    client = await viewer()
    await client.join(show)
    hub.set_latest(show, "stock", {"12": 5})
    hub.set_latest(show, "stock", {"12": 4, "13": 9})
    await client.wait_until(lambda: bool(client.named("stock")))
    assert client.named("stock")[0] == {"12": 4, "13": 9}
    with pytest.raises(ValueError, match="tick field"):
        hub.set_latest(show, "viewers", 3)


async def test_resume_after_forced_disconnect_gets_exactly_the_gap(
    one: Node, viewer: Connect
) -> None:
    hub = hub_of(one)
    show = new_show_id()
    first = await viewer("resumer")
    await first.join(show)
    published: list[int] = []
    stop = asyncio.Event()

    async def flow() -> None:
        n = 0
        while not stop.is_set():
            coalesce = n % 5 != 0
            event_id = await hub.publish(show, "chat" if coalesce else "pinned", {"n": n},
                                         coalesce=coalesce)
            assert event_id is not None
            published.append(event_id)
            n += 1
            await asyncio.sleep(0.002)

    publisher = asyncio.create_task(flow())
    try:
        await first.wait_until(lambda: len(first.named("chat")) >= 30)
        # The network drops: the server side aborts the connection.
        conn = next(c for c in hub.conns.values() if c.principal.name == "resumer")
        hub.drop(conn)
        await first.wait_until(lambda: not first.sio.connected)
        seen = [p["id"] for name, p in first.events if name in ("chat", "pinned")]
        last = seen[-1]
        await asyncio.sleep(0.05)  # let events flow while nobody listens (the gap)
        second = await viewer("resumer")
        ack = await second.join(show, after=last)
        assert ack["ok"]
        assert ack["reset"] is False
        received = [p["id"] for _, p in ack["missed"]]
        assert received, "the gap should not be empty"
        await asyncio.sleep(0.05)
    finally:
        stop.set()
        await publisher
    marker = await hub.publish(show, "pinned", {"end": True})
    await second.wait_until(lambda: any(p.get("end") for p in second.named("pinned")))
    live = [p["id"] for name, p in second.events if name in ("chat", "pinned")]
    # The client rule: drop ids at or below the last one seen.
    kept: list[int] = []
    for event_id in received + live:
        if not kept or event_id > kept[-1]:
            kept.append(event_id)
    assert kept == [i for i in [*published, marker] if i > last]
    assert seen == [i for i in published if i <= last]


async def test_old_cursor_gets_reset(start_node: StartNode, redis_url: str) -> None:
    for node in (bare(await start_node(room_log_size=100)),
                 bare(await start_node(room_log_size=100, redis_url=redis_url))):
        hub = hub_of(node)
        show = new_show_id()
        ids = [await hub.publish(show, "chat", {"n": n}, coalesce=True) for n in range(400)]
        client = await Client("/live").connect(
            node.url, auth={"token": guest_token(node.app)})
        try:
            old = await client.join(show, after=ids[0])
            assert old["reset"] is True
            assert old["missed"] == []
            assert old["cursor"] == ids[-1]
            recent = await client.join(show, after=ids[-3])
            assert recent["reset"] is False
            assert recent["missed"] == [["chat", {"id": ids[-2], "n": 398}],
                                        ["chat", {"id": ids[-1], "n": 399}]]
        finally:
            await client.close()


async def test_only_user_and_staff_only(one: Node, viewer: Connect) -> None:
    hub = hub_of(one)
    show = new_show_id()
    opened = await hub.publish(show, "opened", {})
    author, other = await viewer("author"), await viewer("other")
    await author.join(show)
    await other.join(show)
    author_id = next(c.principal.id for c in hub.conns.values() if c.principal.name == "author")
    assert await hub.publish(show, "chat", {"text": "mine"}, coalesce=True,
                             only_user=author_id) is None
    await hub.publish(show, "note", {"secret": 1}, staff_only=True)
    await hub.publish(show, "pinned", {"product_id": 2})
    for client in (author, other):
        await client.wait_until(lambda c=client: bool(c.named("pinned")))
    assert author.named("chat") == [{"text": "mine"}]
    assert other.named("chat") == []
    assert author.named("note") == other.named("note") == []
    resumed = await other.join(show, after=opened)
    assert [name for name, _ in resumed["missed"]] == ["pinned"]


async def test_custom_handlers_answer_and_map_errors(one: Node, viewer: Connect) -> None:
    hub = hub_of(one)
    seen: list[tuple[str, int | None, Any]] = []

    async def poll(ctx: Any, data: Any) -> dict[str, Any]:
        seen.append((ctx.principal.name, ctx.show_id, data))
        if data == "refuse":
            raise Conflict("poll_closed", "the poll is closed")
        if data == "crash":
            raise RuntimeError("boom")
        return {"votes": 1}

    hub.on("/live", "poll_vote", poll)
    with pytest.raises(ValueError, match="reserved"):
        hub.on("/live", "join", poll)
    client = await viewer("voter")
    show = new_show_id()
    await client.join(show)
    assert await client.call("poll_vote", {"choice": 2}) == {"ok": True, "votes": 1}
    assert (await client.call("poll_vote", "refuse"))["error"] == "poll_closed"
    assert await client.call("poll_vote", "crash") == {"ok": False, "error": "internal_error"}
    assert seen[0] == ("voter", show, {"choice": 2})


BAD_PAYLOADS: list[tuple[str, Any, str]] = [
    ("join", None, "invalid_payload"),
    ("join", {}, "invalid_payload"),
    ("join", "7", "invalid_payload"),
    ("join", [7], "invalid_payload"),
    ("join", {"show_id": "7"}, "invalid_payload"),
    ("join", {"show_id": True}, "invalid_payload"),
    ("join", {"show_id": 0}, "invalid_payload"),
    ("join", {"show_id": 2**60}, "invalid_payload"),
    ("join", {"show_id": 5, "after": -1}, "invalid_payload"),
    ("join", {"show_id": 5, "after": "1"}, "invalid_payload"),
    ("join", {"show_id": 5, "extra": 1}, "invalid_payload"),
    ("leave", "x", "invalid_payload"),
    ("leave", {"show_id": -3}, "invalid_payload"),
    ("leave", {"show_id": 999}, "not_joined"),
    ("heart", None, "invalid_payload"),
    ("heart", {"count": 0}, "invalid_payload"),
    ("heart", {"count": 51}, "invalid_payload"),
    ("heart", {"count": 2.5}, "invalid_payload"),
    ("heart", {"count": "3"}, "invalid_payload"),
    ("heart", [3], "invalid_payload"),
    ("no_such_event", {}, "unknown_event"),
]


async def test_bad_payloads_get_error_acks_and_change_nothing(
    one: Node, viewer: Connect
) -> None:
    hub = hub_of(one)
    show = new_show_id()
    client = await viewer()
    assert (await client.call("heart", {"count": 1}))["error"] == "not_joined"
    await client.join(show)
    for event, data, code in BAD_PAYLOADS:
        ack = await client.call(event, data)
        assert (ack["ok"], ack["error"]) == (False, code), (event, data, ack)
    # Still in the show, counted once, no hearts; a good heart still works.
    assert hub.viewers(show) == 1
    assert [c.show_id for c in hub.conns.values()] == [show]
    assert await client.call("heart", {"count": 2}) == {"ok": True}
    await eventually(lambda: hub.hearts(show) == 2)


async def test_connect_needs_a_viewer_token(one: Node) -> None:
    for auth in (None, {}, {"token": 5}, {"token": "not-a-jwt"}):
        client = Client("/live")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(one.url, auth=auth)
        await client.close()


async def test_viewers_cannot_use_the_console(one: Node, viewer: Connect) -> None:
    client = Client("/console")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(one.url, auth={"token": guest_token(one.app)})
    await client.close()
    hub = hub_of(one)

    async def moderate(ctx: Any, data: Any) -> dict[str, Any]:
        raise AssertionError("a viewer reached a staff handler")

    hub.on("/console", "rt_test_staff", moderate)
    live = await viewer()
    await live.join(new_show_id())
    for event in ("rt_test_staff", "stats", "tick"):
        assert (await live.call(event, {}))["error"] == "unknown_event"


async def test_staff_console_gets_stats_and_staff_events(one: Node, viewer: Connect) -> None:
    hub = hub_of(one)
    show = new_show_id()

    async def extra(show_id: int) -> dict[str, Any]:
        return {"chat_rate": 1.5}

    hub.add_stats_provider(extra)
    token = await api_token(one.app, "shows:read")
    staff = await Client("/console").connect(one.url, auth={"token": token})
    try:
        ack = await staff.join(show)
        assert ack["ok"]
        assert ack["state"]["viewers"] == 0
        watcher = await viewer()
        await watcher.join(show)
        await watcher.call("heart", {"count": 4})
        await staff.wait_until(
            lambda: any(s["viewers"] == 1 and s["hearts"] == 4 for s in staff.named("stats")))
        stats = staff.named("stats")[-1]
        assert stats == {"show_id": show, "viewers": 1, "peak_viewers": 1, "hearts": 4,
                         "chat_rate": 1.5}
        await hub.publish(show, "note", {"secret": 1}, staff_only=True, coalesce=True)
        await staff.wait_until(lambda: bool(staff.named("note")))
        assert watcher.named("note") == []
    finally:
        await staff.close()
    weak = await api_token(one.app, "catalog:read")
    refused = Client("/console")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(one.url, auth={"token": weak})
    await refused.close()


async def test_polling_clients_get_ticks(one: Node) -> None:
    hub = hub_of(one)
    show = new_show_id()
    client = await Client("/live").connect(one.url, auth={"token": guest_token(one.app)},
                                           transports=["polling"])
    try:
        await client.join(show)
        await hub.publish(show, "chat", {"text": "hi"}, coalesce=True)
        await client.wait_until(lambda: bool(client.named("chat")))
        assert client.named("chat")[0]["text"] == "hi"
        # End the long poll from the server side so the client need not wait it out.
        for conn in list(hub.conns.values()):
            await hub.sio.eio.disconnect(conn.eio.sid)
        await client.wait_until(lambda: not client.sio.connected)
    finally:
        await client.close()
