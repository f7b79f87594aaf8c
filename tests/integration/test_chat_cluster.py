"""Chat across two nodes sharing Redis (and the database): hides reach viewers on the
other node, sending limits hold across nodes, and a viewer who loses its connection while
1,000 messages flow resumes with exactly the gap."""

from __future__ import annotations

import asyncio

import pytest

from chat.service import ChatLimits
from tests.conftest import Node, StartNode
from tests.integration.chat_support import (
    Clock,
    chat_ids,
    chat_of,
    console,
    live_show,
    say,
    viewer,
)
from tests.integration.realtime_support import Client, eventually, guest_token

pytestmark = pytest.mark.redis

UNLIMITED = ChatLimits(viewer_messages=100_000, viewer_period=1.0, staff_messages=100_000,
                       staff_period=1.0, guest_ip_messages=100_000, guest_ip_period=1.0)


@pytest.fixture
async def pair(start_node: StartNode, db_url: str, redis_url: str) -> tuple[Node, Node]:
    a = await start_node(database_url=db_url, redis_url=redis_url)
    b = await start_node(database_url=db_url, redis_url=redis_url)
    return a, b


async def test_hide_reaches_a_viewer_on_the_other_node(pair: tuple[Node, Node]) -> None:
    a, b = pair
    show = await live_show(a.app)
    sender = await viewer(a, show, "sender")
    watcher = await viewer(b, show, "watcher")
    mod = await console(a, show)
    bad = await say(sender, "buy followers cheap")
    keep = await say(sender, "hello all")
    await watcher.wait_until(lambda: chat_ids(watcher) == [bad["id"], keep["id"]])
    assert (await mod.call("chat_moderate", {"action": "hide", "message_id": bad["id"]}))["ok"]
    await watcher.wait_until(lambda: bool(watcher.named("chat_hidden")))
    assert watcher.named("chat_hidden")[0]["ids"] == [bad["id"]]
    # A newcomer on either node gets the history without it (Redis Stream, shared).
    for node in (a, b):
        late = await viewer(node, show, "late")
        messages = late.joined["state"]["chat"]["messages"]  # type: ignore[attr-defined]
        assert [m["id"] for m in messages] == [keep["id"]]
        await late.close()
    # A ban made on node A holds on node B.
    own = await say(watcher, "before the ban")
    await watcher.wait_until(lambda: own["id"] in chat_ids(watcher))
    watcher_id = next(m["user_id"] for m in watcher.named("chat") if m["id"] == own["id"])
    assert (await mod.call("chat_moderate", {"action": "ban", "user_id": watcher_id}))["ok"]

    async def refused() -> bool:
        return bool((await say(watcher, "after the ban")).get("error") == "banned")

    await eventually(refused)
    for client in (sender, watcher, mod):
        await client.close()


async def test_same_nonce_on_two_nodes_gives_one_message(pair: tuple[Node, Node]) -> None:
    a, b = pair
    show = await live_show(a.app)
    token = guest_token(a.app, "twice")
    on_a = await viewer(a, show, token=token)
    on_b = await viewer(b, show, token=token)
    first = await say(on_a, "only once", nonce="retry-1")
    assert await say(on_b, "only once", nonce="retry-1") == first
    await on_a.close()
    await on_b.close()


async def test_resume_gets_exactly_the_gap_while_1000_messages_flow(
    pair: tuple[Node, Node],
) -> None:
    a, b = pair
    for node in pair:
        chat_of(node).chat.set_limits(UNLIMITED)
    show = await live_show(a.app)
    token = guest_token(b.app, "watcher")
    watcher = await viewer(b, show, token=token)
    senders = [await viewer(a, show, f"s{i}") for i in range(10)]
    acked: list[int] = []
    dropped = asyncio.Event()

    async def flow(index: int, client: Client) -> None:
        for n in range(100):
            ack = await say(client, f"sender {index} message {n}")
            assert ack["ok"], ack
            acked.append(ack["id"])
            if len(acked) == 300:
                dropped.set()

    flows = [asyncio.create_task(flow(i, c)) for i, c in enumerate(senders)]
    await asyncio.wait_for(dropped.wait(), 30)
    await watcher.sio.eio.disconnect(abort=True)
    before = chat_ids(watcher)
    assert before, "the watcher saw nothing before the drop"
    await asyncio.sleep(0)  # let the flow go on without the watcher (not a wait for state)
    again = await viewer(b, show, token=token, after=max(before))
    ack = again.joined  # type: ignore[attr-defined]
    assert ack["reset"] is False
    missed = [payload["id"] for name, payload in ack["missed"] if name == "chat"]
    await asyncio.wait_for(asyncio.gather(*flows), 60)
    assert len(acked) == 1000

    cursor = max(before)
    # Exactly the gap: every logged message after the cursor, up to the join's cursor.
    gap = sorted(i for i in acked if cursor < i <= ack["cursor"])
    assert missed == gap
    # And with what came live after the join, every acknowledged message arrived.
    everything = set(acked)
    await again.wait_until(lambda: set(before) | set(missed) | set(chat_ids(again)) >= everything,
                           30)
    assert len(before) == len(set(before))
    assert set(before) | set(missed) | set(chat_ids(again)) == everything
    for client in (again, *senders):
        await client.close()


async def test_limits_hold_across_nodes(pair: tuple[Node, Node]) -> None:
    a, b = pair
    clock = Clock()
    for node in pair:
        chat_of(node).chat.clock = clock
    show = await live_show(a.app)
    token = guest_token(a.app, "both")
    on_a = await viewer(a, show, token=token)
    on_b = await viewer(b, show, token=token)
    # 20 per 30 s counted once for the user, whichever node each message goes through.
    for i in range(20):
        assert (await say((on_a, on_b)[i % 2], f"message {i}"))["ok"]
    assert await say(on_a, "one too many") == {
        "ok": False, "error": "rate_limited", "retry_after": 1.5}
    clock.now += 1.0
    assert await say(on_b, "one too many") == {
        "ok": False, "error": "rate_limited", "retry_after": 0.5}
    clock.now += 0.5
    assert (await say(on_b, "the 21st, a token later"))["ok"]
    assert await say(on_a, "and no more") == {
        "ok": False, "error": "rate_limited", "retry_after": 1.5}
    clock.now += 30

    # Slow mode set on node A holds for a send on node B.
    mod = await console(a, show)
    assert (await mod.call("chat_moderate", {"action": "settings", "slow_seconds": 10}))["ok"]
    await on_b.wait_until(lambda: bool(on_b.named("chat_settings")))
    assert (await say(on_a, "first"))["ok"]
    clock.now += 4
    assert await say(on_b, "second") == {"ok": False, "error": "slow_mode", "retry_after": 6.0}
    clock.now += 6
    assert (await say(on_b, "second"))["ok"]

    # The same text a third time within 30 s, through the other node.
    clock.now += 10
    assert (await say(on_a, "응모"))["ok"]
    clock.now += 10
    assert (await say(on_b, "응 모!"))["ok"]
    clock.now += 10
    assert await say(on_a, "응모") == {"ok": False, "error": "repeated_text", "retry_after": 10.0}
    for client in (on_a, on_b, mod):
        await client.close()


async def test_a_burst_waits_for_redis_connections_instead_of_failing(
    start_node: StartNode, redis_url: str
) -> None:
    """Many senders at once on a node with a small Redis pool: every message is accepted
    (callers queue for a connection; none gets `unavailable`) and reaches a watcher."""
    node = await start_node(redis_url=redis_url, redis_pool_size=3)
    show = await live_show(node.app)
    watcher = await viewer(node, show, "watcher")
    senders = [await viewer(node, show, f"s{i}") for i in range(40)]
    try:
        acks = await asyncio.gather(*(say(c, f"burst {i}") for i, c in enumerate(senders)))
        assert [a.get("error") for a in acks if not a["ok"]] == []
        ids = {a["id"] for a in acks}
        assert len(ids) == 40
        await watcher.wait_until(lambda: ids <= set(chat_ids(watcher)))
    finally:
        for client in [watcher, *senders]:
            await client.close()


async def test_racing_sends_through_both_nodes_take_exactly_the_allowance(
    pair: tuple[Node, Node],
) -> None:
    """60 messages of one viewer at once, half through each node: exactly the 20 of the
    bucket are accepted, the rest refused with rate_limited, none lost or doubled."""
    a, b = pair
    clock = Clock()
    for node in pair:
        chat_of(node).chat.clock = clock
    show = await live_show(a.app)
    token = guest_token(a.app, "racer")
    sockets = [await viewer(node, show, token=token) for node in (a, b) for _ in range(3)]
    acks = await asyncio.gather(*(
        say(sockets[i % len(sockets)], f"race {i}") for i in range(60)))
    accepted = [ack for ack in acks if ack["ok"]]
    assert len(accepted) == 20
    assert len({ack["id"] for ack in accepted}) == 20
    assert {ack["error"] for ack in acks if not ack["ok"]} == {"rate_limited"}
    for client in sockets:
        await client.close()
