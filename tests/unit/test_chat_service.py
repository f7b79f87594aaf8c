"""The chat service and moderation with hand-written fakes and a hand-driven clock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from chat.domain import ChatMessage, Sanction
from chat.history import MemoryHistory
from chat.limits_redis import RedisLimits
from chat.moderation import ModerationService
from chat.nonces import MemoryNonces
from chat.service import ChatService
from chat.state import ChatState
from chat.store import ShowChat
from chat.words import BlockedWord, WordAction
from server.auth.domain import Principal, staff_principal, viewer_principal
from server.bus import InProcessBus

SHOW = 7
GUEST = viewer_principal("g_1", "guest", None, guest=True)
MEMBER = viewer_principal("s_1", "member", "gold", guest=False)
HOST = staff_principal(1, "host", "host")


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeHub:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent: list[dict[str, Any]] = []
        self._last = 0

    async def publish(self, show_id: int, event: str, payload: dict[str, Any], *,
                      coalesce: bool = False, logged: bool = True, staff_only: bool = False,
                      only_user: str | None = None) -> int | None:
        self._last = max(int(self.clock() * 1_000_000), self._last + 1)
        if logged and only_user is None:
            payload["id"] = self._last
        self.sent.append({"show_id": show_id, "event": event, "payload": payload,
                          "coalesce": coalesce, "only_user": only_user, "logged": logged,
                          "staff_only": staff_only})
        return self._last if logged and only_user is None else None

    def events(self, name: str) -> list[dict[str, Any]]:
        return [s for s in self.sent if s["event"] == name]


@dataclass
class FakeStore:
    shows: dict[int, ShowChat] = field(default_factory=dict)
    audits: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    sanctions_added: list[Sanction] = field(default_factory=list)

    async def show(self, show_id: int) -> ShowChat:
        return self.shows.get(show_id, ShowChat())

    async def save_show(self, show_id: int, chat: ShowChat) -> None:
        self.shows[show_id] = chat

    async def word_entries(self) -> list[BlockedWord]:
        return [BlockedWord("씨발", WordAction.BLOCK), BlockedWord("spam", WordAction.SHADOW),
                BlockedWord("바보", WordAction.MASK)]

    async def domains(self) -> list[str]:
        return ["myshop.com"]

    async def sanctions(self, now: float) -> list[Sanction]:
        return []

    async def add_sanction(self, sanction: Sanction, reason: str, actor: Principal) -> None:
        self.sanctions_added.append(sanction)

    async def lift_sanctions(self, show_id: int | None, user_id: str) -> int:
        return 1

    async def audit(self, actor: Principal, action: str, **fields: Any) -> None:
        self.audits.append((actor.id, action, fields))


class FakeWriter:
    def __init__(self) -> None:
        self.added: list[ChatMessage] = []
        self.stopped = False

    def add(self, message: ChatMessage) -> None:
        self.added.append(message)

    async def stop(self) -> None:
        self.stopped = True


@dataclass
class Ctx:
    principal: Principal
    show_id: Any = SHOW
    ip: str | None = "10.0.0.1"
    sid: str = "sid"


@dataclass
class World:
    clock: Clock
    hub: FakeHub
    store: FakeStore
    writer: FakeWriter
    history: MemoryHistory
    chat: ChatService
    moderation: ModerationService


@pytest.fixture
async def world() -> World:
    clock = Clock()
    hub, store, writer, history = FakeHub(clock), FakeStore(), FakeWriter(), MemoryHistory()
    state = ChatState(store, InProcessBus(), clock)  # type: ignore[arg-type]
    await state.start()
    chat = ChatService(hub, state, history, writer, MemoryNonces(), clock)  # type: ignore[arg-type]
    moderation = ModerationService(hub, state, store, history, clock)  # type: ignore[arg-type]
    return World(clock, hub, store, writer, history, chat, moderation)


async def send(w: World, who: Principal, text: str, nonce: str, **extra: Any) -> dict[str, Any]:
    return await w.chat.send(Ctx(who, ip=extra.pop("ip", "10.0.0.1")),
                             {"text": text, "nonce": nonce, **extra})


async def test_message_shape_and_ack(world: World) -> None:
    ack = await send(world, MEMBER, "안녕하세요", "n1")
    assert ack == {"ok": True, "id": world.hub.sent[0]["payload"]["id"]}
    sent = world.hub.sent[0]
    assert sent["event"] == "chat"
    assert sent["coalesce"]
    assert sent["logged"]
    assert sent["payload"] == {
        "id": ack["id"], "show_id": SHOW, "user_id": "s_1", "nickname": "member",
        "badges": ["tier:gold"], "text": "안녕하세요", "at": "2027-01-15T08:00:00.000Z",
    }
    assert [m.id for m in world.writer.added] == [ack["id"]]
    assert await world.history.recent(SHOW, 50, None) == [sent["payload"]]


async def test_same_nonce_gives_one_message_and_the_same_ack(world: World) -> None:
    first, second = await asyncio.gather(send(world, GUEST, "hi", "n1"),
                                         send(world, GUEST, "hi", "n1"))
    third = await send(world, GUEST, "hi again", "n1")
    assert first == second == third
    assert len(world.hub.sent) == 1
    other_user = await send(world, MEMBER, "hi", "n1")
    assert other_user["ok"]
    assert other_user["id"] != first["id"]


async def test_refused_nonce_may_be_retried(world: World) -> None:
    assert (await send(world, GUEST, "   ", "n1"))["error"] == "empty_message"
    assert (await send(world, GUEST, "now", "n1"))["ok"]


async def test_rate_limit_exact_retry_after(world: World) -> None:
    for i in range(20):
        assert (await send(world, MEMBER, f"m{i}", f"n{i}"))["ok"]
    assert await send(world, MEMBER, "one more", "x") == {
        "ok": False, "error": "rate_limited", "retry_after": 1.5}
    world.clock.now += 1.0
    assert await send(world, MEMBER, "one more", "y") == {
        "ok": False, "error": "rate_limited", "retry_after": 0.5}
    world.clock.now += 0.5
    assert (await send(world, MEMBER, "one more", "z"))["ok"]


async def test_staff_have_a_larger_bucket(world: World) -> None:
    for i in range(60):
        assert (await send(world, HOST, f"m{i}", f"n{i}"))["ok"]


async def test_guests_share_a_bucket_per_address(world: World) -> None:
    for i in range(60):
        guest = viewer_principal(f"g_{i}", f"guest{i}", None, guest=True)
        assert (await send(world, guest, "hello", f"n{i}"))["ok"]
    late = viewer_principal("g_late", "late", None, guest=True)
    assert await send(world, late, "hello", "x") == {
        "ok": False, "error": "rate_limited", "retry_after": 0.5}
    assert (await send(world, late, "hello", "y", ip="10.0.0.2"))["ok"]


async def test_slow_mode_exact_and_moderators_exempt(world: World) -> None:
    ack = await world.moderation.handle(HOST, SHOW, {"action": "settings", "slow_seconds": 10})
    assert ack == {"ok": True, "settings": {"slow_seconds": 10, "mode": "open",
                                            "established_minutes": 0, "frozen": False}}
    assert (await send(world, MEMBER, "first", "n1"))["ok"]
    world.clock.now += 3
    assert await send(world, MEMBER, "second", "n2") == {
        "ok": False, "error": "slow_mode", "retry_after": 7.0}
    assert (await send(world, HOST, "a", "h1"))["ok"]
    assert (await send(world, HOST, "b", "h2"))["ok"]
    world.clock.now += 7
    assert (await send(world, MEMBER, "second", "n3"))["ok"]


async def test_repeated_text(world: World) -> None:
    assert (await send(world, MEMBER, "응모", "n1"))["ok"]
    assert (await send(world, MEMBER, "응 모!", "n2"))["ok"]
    world.clock.now += 2
    assert await send(world, MEMBER, "응모", "n3") == {
        "ok": False, "error": "repeated_text", "retry_after": 28.0}


async def test_words_block_shadow_mask(world: World) -> None:
    assert await send(world, MEMBER, "씨 발", "n1") == {"ok": False, "error": "blocked_word"}
    masked = await send(world, MEMBER, "너 바보야", "n2")
    assert world.hub.sent[-1]["payload"]["text"] == "너 ＊＊야"
    shadow = await send(world, MEMBER, "ＳＰＡＭ deals", "n3")
    assert shadow["ok"]
    assert shadow["id"] > masked["id"]
    last = world.hub.sent[-1]
    assert last["only_user"] == "s_1"
    assert not last["logged"]
    assert [m["text"] for m in await world.history.recent(SHOW, 50, "someone")] == ["너 ＊＊야"]
    assert len(await world.history.recent(SHOW, 50, "s_1")) == 2
    assert world.writer.added[-1].shadow


async def test_links(world: World) -> None:
    assert await send(world, MEMBER, "go evil.com", "n1") == {
        "ok": False, "error": "link_not_allowed", "host": "evil.com"}
    assert (await send(world, MEMBER, "https://myshop.com/p/1", "n2"))["ok"]


async def test_modes_and_sanctions(world: World) -> None:
    await world.moderation.handle(HOST, SHOW, {"action": "settings", "mode": "members"})
    assert (await send(world, GUEST, "hi", "n1"))["error"] == "members_only"
    await world.moderation.handle(HOST, SHOW, {"action": "settings", "mode": "open",
                                               "frozen": True})
    assert (await send(world, MEMBER, "hi", "n2"))["error"] == "chat_frozen"
    assert (await send(world, HOST, "hi", "n3"))["ok"]
    await world.moderation.handle(HOST, SHOW, {"action": "settings", "frozen": False})
    ack = await world.moderation.handle(HOST, SHOW, {"action": "timeout", "user_id": "s_1",
                                                     "seconds": 60})
    assert ack["ok"]
    world.clock.now += 15
    assert await send(world, MEMBER, "hi", "n4") == {
        "ok": False, "error": "timed_out", "retry_after": 45.0}
    await world.moderation.handle(HOST, SHOW, {"action": "unban", "user_id": "s_1"})
    assert (await send(world, MEMBER, "hi", "n5"))["ok"]
    await world.moderation.handle(HOST, None, {"action": "ban", "user_id": "s_1",
                                               "scope": "shop"})
    assert (await send(world, MEMBER, "hi", "n6"))["error"] == "banned"
    actions = [a for _, a, _ in world.store.audits]
    assert actions == ["settings", "settings", "settings", "timeout", "unban", "ban"]


async def test_hide_and_hide_user(world: World) -> None:
    one = await send(world, MEMBER, "one", "n1")
    await send(world, GUEST, "two", "n2")
    await send(world, MEMBER, "three", "n3")
    ack = await world.moderation.handle(HOST, SHOW, {"action": "hide",
                                                     "message_id": one["id"]})
    assert ack == {"ok": True, "hidden": [one["id"]]}
    hidden = world.hub.events("chat_hidden")[-1]["payload"]
    assert (hidden["ids"], hidden["user_id"]) == ([one["id"]], None)
    assert [m["text"] for m in await world.history.recent(SHOW, 50, None)] == ["two", "three"]
    await world.moderation.handle(HOST, SHOW, {"action": "hide_user", "user_id": "s_1"})
    assert [m["text"] for m in await world.history.recent(SHOW, 50, None)] == ["two"]
    world.clock.now += 1
    await send(world, MEMBER, "after", "n4")
    assert [m["text"] for m in await world.history.recent(SHOW, 50, None)] == ["two", "after"]
    audit = world.store.audits[0]
    assert audit[:2] == ("u1", "hide")
    assert audit[2]["message_id"] == one["id"]
    assert audit[2]["target_user_id"] == "s_1"
    staff_event = world.hub.events("chat_moderation")[0]
    assert staff_event["staff_only"]
    assert staff_event["payload"]["actor"] == "host"


async def test_viewers_cannot_moderate(world: World) -> None:
    ack = await world.moderation.handle(MEMBER, SHOW, {"action": "hide", "message_id": 1})
    assert ack == {"ok": False, "error": "permission_denied", "permission": "chat:moderate"}
    assert (await world.moderation.handle(HOST, SHOW, {"action": "nuke"}))["error"] == (
        "invalid_action")


async def test_reply_announcement_highlight_snapshot(world: World) -> None:
    question = await send(world, MEMBER, "사이즈 있나요?", "n1")
    reply = await send(world, HOST, "네 있어요", "h1", reply_to=question["id"])
    assert reply["ok"]
    assert world.hub.sent[-1]["payload"]["reply_to"] == {
        "id": question["id"], "user_id": "s_1", "nickname": "member", "text": "사이즈 있나요?"}
    assert (await send(world, HOST, "x", "h2", reply_to=1))["error"] == "reply_not_found"
    await world.moderation.handle(HOST, SHOW, {"action": "announce", "text": "50% off"})
    await world.moderation.handle(HOST, SHOW, {"action": "highlight",
                                               "message_id": question["id"]})
    snap = (await world.chat.snapshot(SHOW, GUEST))["chat"]
    assert [m["id"] for m in snap["messages"]] == [question["id"], reply["id"]]
    assert snap["announcement"]["text"] == "50% off"
    assert snap["highlighted"]["id"] == question["id"]
    assert world.hub.events("chat_announcement")[0]["payload"]["announcement"]["by"] == "host"


async def test_keyword_hooks(world: World) -> None:
    seen: list[str] = []
    done = asyncio.Event()

    async def enter(message: ChatMessage) -> None:
        seen.append(message.user_id)
        done.set()

    unregister = world.chat.register_keyword("응모", enter)
    await send(world, MEMBER, "저 응모 할게요", "n1")
    await asyncio.wait_for(done.wait(), 2)
    assert seen == ["s_1"]
    unregister()
    await send(world, GUEST, "응모", "n2")
    await world.chat.stop()
    assert seen == ["s_1"]


async def test_closing_refuses_and_flushes(world: World) -> None:
    await world.chat.stop()
    assert world.writer.stopped
    assert (await send(world, MEMBER, "late", "n1"))["error"] == "unavailable"


async def test_not_joined_and_bad_payloads(world: World) -> None:
    assert (await world.chat.send(Ctx(MEMBER, show_id=None), {"text": "x", "nonce": "n"})
            )["error"] == "not_joined"
    assert (await world.chat.send(Ctx(MEMBER), "text"))["error"] == "invalid_payload"
    assert (await world.chat.send(Ctx(MEMBER), {"text": "x"}))["error"] == "invalid_nonce"


async def test_stats_count_the_last_minute(world: World) -> None:
    await send(world, MEMBER, "a", "n1")
    await send(world, GUEST, "b", "n2")
    assert await world.chat.stats(SHOW) == {"chat": {"per_minute": 2}}
    world.clock.now += 61
    assert await world.chat.stats(SHOW) == {"chat": {"per_minute": 0}}


async def test_a_refused_message_costs_nothing(world: World) -> None:
    await world.moderation.handle(HOST, SHOW, {"action": "settings", "slow_seconds": 10})
    assert (await send(world, MEMBER, "first", "n1"))["ok"]
    for i in range(30):
        assert (await send(world, MEMBER, "again", f"s{i}"))["error"] == "slow_mode"
        assert (await send(world, MEMBER, "씨 발", f"w{i}"))["error"] == "blocked_word"
    world.clock.now += 10
    assert (await send(world, MEMBER, "again", "n2"))["ok"]


class DownRedis:
    """Stands in for a Redis client whose connection is gone."""

    def register_script(self, source: str) -> Any:
        async def run(**_: Any) -> Any:
            raise RedisConnectionError("connection refused")

        return run


async def test_redis_limits_fall_back_to_memory_when_redis_is_away(
    world: World, caplog: pytest.LogCaptureFixture,
) -> None:
    world.chat.limiter = RedisLimits(DownRedis(), "t:")  # type: ignore[arg-type]
    for i in range(20):
        assert (await send(world, MEMBER, f"m{i}", f"n{i}"))["ok"]
    assert await send(world, MEMBER, "one more", "x") == {
        "ok": False, "error": "rate_limited", "retry_after": 1.5}
    assert [r.getMessage() for r in caplog.records if "lost Redis" in r.getMessage()] == [
        "chat limits lost Redis (connection refused); this node counts alone"]
