"""Chat over real sockets on one node, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.conftest import Node
from tests.integration.chat_support import (
    Clock,
    add_word,
    chat_of,
    chat_texts,
    console,
    live_show,
    remove_word,
    say,
    set_domains,
    staff_headers,
    viewer,
)
from tests.integration.realtime_support import eventually


async def test_send_receive_and_nonce(node: Node) -> None:
    show = await live_show(node.app)
    alice, bob = await viewer(node, show, "alice"), await viewer(node, show, "bob")
    ack = await say(alice, "안녕하세요!", nonce="same")
    assert ack == {"ok": True, "id": ack["id"]}
    assert isinstance(ack["id"], int)
    assert await say(alice, "안녕하세요!", nonce="same") == ack
    await bob.wait_until(lambda: len(bob.named("chat")) == 1)
    message = bob.named("chat")[0]
    assert message == {
        "id": ack["id"], "show_id": show, "user_id": message["user_id"],
        "nickname": "alice", "badges": [], "text": "안녕하세요!", "at": message["at"],
    }
    await say(bob, "second")
    await alice.wait_until(lambda: chat_texts(alice) == ["안녕하세요!", "second"])
    # A newcomer gets the history in the join snapshot.
    carol = await viewer(node, show, "carol")
    history = carol.joined["state"]["chat"]  # type: ignore[attr-defined]
    assert [m["text"] for m in history["messages"]] == ["안녕하세요!", "second"]
    for client in (alice, bob, carol):
        await client.close()


async def test_rate_limit_and_slow_mode_exact_retry_after(node: Node) -> None:
    clock = Clock()
    chat_of(node).chat.clock = clock
    show = await live_show(node.app)
    alice = await viewer(node, show, "alice")
    for i in range(20):
        assert (await say(alice, f"msg {i}"))["ok"]
    assert await say(alice, "too many") == {
        "ok": False, "error": "rate_limited", "retry_after": 1.5}
    clock.now += 30

    mod = await console(node, show)
    ack = await mod.call("chat_moderate", {"action": "settings", "slow_seconds": 10})
    assert ack["ok"]
    assert ack["settings"]["slow_seconds"] == 10
    await alice.wait_until(lambda: bool(alice.named("chat_settings")))
    assert (await say(alice, "first"))["ok"]
    clock.now += 4
    assert await say(alice, "second") == {
        "ok": False, "error": "slow_mode", "retry_after": 6.0}
    # Moderators are exempt.
    assert (await say(mod, "from the host 1"))["ok"]
    assert (await say(mod, "from the host 2"))["ok"]
    clock.now += 6
    assert (await say(alice, "second"))["ok"]
    await alice.close()
    await mod.close()


async def test_blocked_words_with_spacing_and_full_width(node: Node) -> None:
    show = await live_show(node.app)
    block_id = await add_word(node, "씨발", "block")
    mask_id = await add_word(node, "바보", "mask")
    try:
        alice = await viewer(node, show, "alice")
        for text in ("씨발", "씨 발", "씨.발", "야 씨-발 진짜", "씨　발", "씨\u200b발"):
            assert await say(alice, text) == {"ok": False, "error": "blocked_word"}, text
        assert (await say(alice, "너 바 보야"))["ok"]
        await alice.wait_until(lambda: chat_texts(alice) == ["너 ＊ ＊야"])
    finally:
        await remove_word(node, block_id)
        await remove_word(node, mask_id)
    assert (await say(alice, "씨 발"))["ok"]
    await alice.close()


async def test_full_width_latin_and_shadow_seen_by_author_only(node: Node) -> None:
    show = await live_show(node.app)
    word_id = await add_word(node, "cheap pills", "shadow")
    author, other = await viewer(node, show, "author"), await viewer(node, show, "other")
    try:
        shadow = await say(author, "ＣＨＥＡＰ ｐｉｌｌｓ here")
    finally:
        await remove_word(node, word_id)
    assert shadow["ok"]
    visible = await say(author, "normal words")
    await other.wait_until(lambda: chat_texts(other) == ["normal words"])
    await author.wait_until(lambda: len(author.named("chat")) == 2)
    assert chat_texts(author) == ["ＣＨＥＡＰ ｐｉｌｌｓ here", "normal words"]
    assert author.named("chat")[1]["id"] == visible["id"]
    # The author's copy carries the id its ack gave, so the screen can refer to it.
    assert author.named("chat")[0]["id"] == shadow["id"]
    late = await viewer(node, show, "late")
    history = late.joined["state"]["chat"]["messages"]  # type: ignore[attr-defined]
    assert [m["text"] for m in history] == ["normal words"]
    for client in (author, other, late):
        await client.close()


async def test_links_blocked_unless_allowed(node: Node) -> None:
    show = await live_show(node.app)
    alice = await viewer(node, show, "alice")
    assert await say(alice, "싸게 팔아요 cheap.shop/x") == {
        "ok": False, "error": "link_not_allowed", "host": "cheap.shop"}
    assert (await say(alice, "ｅｖｉｌ．ｃｏｍ"))["error"] == "link_not_allowed"
    await set_domains(node, ["myshop.co.kr"])
    try:
        assert (await say(alice, "https://www.myshop.co.kr/p/1 보세요"))["ok"]
        assert (await say(alice, "evil.com"))["error"] == "link_not_allowed"
    finally:
        await set_domains(node, [])
    await alice.close()


async def test_moderation_hide_timeout_and_audit(node: Node) -> None:
    show = await live_show(node.app)
    alice, bob = await viewer(node, show, "alice"), await viewer(node, show, "bob")
    mod = await console(node, show)
    bad = await say(alice, "bad message")
    await say(alice, "another")
    await bob.wait_until(lambda: len(bob.named("chat")) == 2)
    assert (await mod.call("chat_moderate", {"action": "hide", "message_id": bad["id"]}))["ok"]
    await bob.wait_until(lambda: bool(bob.named("chat_hidden")))
    assert bob.named("chat_hidden")[0]["ids"] == [bad["id"]]
    await mod.wait_until(lambda: bool(mod.named("chat_moderation")))
    alice_id = bob.named("chat")[0]["user_id"]
    ack = await mod.call("chat_moderate", {"action": "timeout", "user_id": alice_id,
                                           "seconds": 600, "reason": "spam"})
    assert ack["ok"]
    refused = await say(alice, "let me talk")
    assert refused["error"] == "timed_out"
    assert 599 < refused["retry_after"] <= 600
    assert (await mod.call("chat_moderate", {"action": "unban", "user_id": alice_id}))["ok"]
    assert (await say(alice, "thanks"))["ok"]
    headers = await staff_headers(node)
    # Shop-wide actions of other tests share the log: page through all of it.
    entries, after = [], 0
    while True:
        async with node.http.get(f"/api/v1/shows/{show}/chat/moderation",
                                 params={"after": after, "limit": 1000},
                                 headers=headers) as resp:
            page = await resp.json()
        entries += [e for e in page["entries"] if e["show_id"] == show]
        if not page["entries"]:
            break
        after = page["next_after"]
    assert [(e["action"], e["target_user_id"]) for e in entries] == [
        ("hide", alice_id), ("timeout", alice_id), ("unban", alice_id)]
    assert entries[1]["detail"] == {"seconds": 600, "reason": "spam"}
    assert all(e["actor_name"] == "test" and e["at"] for e in entries)
    # The stored copy is marked hidden once written.
    await chat_of(node).chat.writer.flush()
    async with node.http.get(f"/api/v1/shows/{show}/chat", headers=headers) as resp:
        stored = (await resp.json())["messages"]
    assert [(m["text"], m["hidden"]) for m in stored] == [
        ("bad message", True), ("another", False), ("thanks", False)]
    for client in (alice, bob, mod):
        await client.close()


async def test_host_tools_and_rest_moderation(node: Node) -> None:
    show = await live_show(node.app)
    alice = await viewer(node, show, "alice")
    mod = await console(node, show)
    question = await say(alice, "사이즈 M 있나요?")
    reply = await say(mod, "네, 있어요", reply_to=question["id"])
    assert reply["ok"]
    await alice.wait_until(lambda: len(alice.named("chat")) == 2)
    assert alice.named("chat")[1]["reply_to"]["id"] == question["id"]
    assert alice.named("chat")[1]["badges"] == ["staff"]
    headers = await staff_headers(node)
    async with node.http.post(f"/api/v1/shows/{show}/chat/moderation", headers=headers,
                              json={"action": "announce", "text": "오늘만 50%"}) as resp:
        assert resp.status == 200, await resp.text()
    async with node.http.post(f"/api/v1/shows/{show}/chat/moderation", headers=headers,
                              json={"action": "highlight",
                                    "message_id": question["id"]}) as resp:
        assert resp.status == 200
    await alice.wait_until(lambda: bool(alice.named("chat_highlight")))
    assert alice.named("chat_announcement")[0]["announcement"]["text"] == "오늘만 50%"
    late = await viewer(node, show, "late")
    state = late.joined["state"]["chat"]  # type: ignore[attr-defined]
    assert state["announcement"]["text"] == "오늘만 50%"
    assert state["highlighted"]["id"] == question["id"]
    async with node.http.post(f"/api/v1/shows/{show}/chat/moderation", headers=headers,
                              json={"action": "settings", "mode": "members"}) as resp:
        assert resp.status == 200
    assert (await say(alice, "guest here"))["error"] == "members_only"
    async with node.http.post(f"/api/v1/shows/{show}/chat/moderation",
                              json={"action": "settings", "frozen": True}) as resp:
        assert resp.status == 401
    for client in (alice, mod, late):
        await client.close()


async def test_history_api_and_csv_export(node: Node) -> None:
    show = await live_show(node.app)
    alice = await viewer(node, show, "=alice")
    ids = [(await say(alice, f"line {i}, \"quoted\""))["id"] for i in range(5)]
    await chat_of(node).chat.writer.flush()
    headers = await staff_headers(node, "chat:read")
    async with node.http.get(f"/api/v1/shows/{show}/chat?after={ids[1]}&limit=2",
                             headers=headers) as resp:
        page = await resp.json()
    assert [m["id"] for m in page["messages"]] == ids[2:4]
    assert page["next_after"] == ids[3]
    async with node.http.get(f"/api/v1/shows/{show}/chat/export.csv",
                             headers=headers) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/csv")
        body = await resp.text()
    lines = body.strip().splitlines()
    assert lines[0] == "id,at,user_id,nickname,badges,text,reply_to,hidden,shadow"
    assert len(lines) == 6
    assert "'=alice" in lines[1]
    assert '"line 0, ""quoted"""' in lines[1]
    async with node.http.get(f"/api/v1/shows/{show}/chat",
                             headers=await staff_headers(node, "shows:read")) as resp:
        assert resp.status == 403
    await alice.close()


async def test_restart_loses_no_acknowledged_message(start_node, db_url: str) -> None:  # type: ignore[no-untyped-def]
    first = await start_node(database_url=db_url)
    show = await live_show(first.app)
    alice = await viewer(first, show, "alice")
    acked = []
    for i in range(120):
        ack = await say(alice, f"keep me {i}")
        if ack["ok"]:
            acked.append(ack["id"])
    await alice.close()
    assert len(acked) == 20  # the rest were refused with rate_limited, never dropped
    await first.stop()
    second = await start_node(database_url=db_url)
    headers = await staff_headers(second, "chat:read")

    async def stored() -> list[int]:
        async with second.http.get(f"/api/v1/shows/{show}/chat?limit=1000",
                                   headers=headers) as resp:
            return [m["id"] for m in (await resp.json())["messages"]]

    assert await stored() == acked
    await eventually(lambda: True)
