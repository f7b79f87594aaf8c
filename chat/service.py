"""Sending chat: the hot path from a client's `chat` event to the fan-out, the history
and the database batch, plus the join snapshot, chat-rate stats and keyword hooks."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from chat.domain import (
    ChatMessage,
    badges_for,
    check_may_speak,
    clean_nonce,
    clean_text,
    is_moderator,
)
from chat.history import RECENT, BatchWriter, History
from chat.limits import ChatLimits, LimitAsk, Limiter, LocalLimits
from chat.nonces import Nonces
from chat.state import ChatState
from chat.words import KeywordMatcher, WordAction, skeleton
from server.auth.domain import Principal
from server.errors import DomainError, Forbidden, Invalid, NotFound, RateLimited, Unavailable

log = logging.getLogger("onair.chat")

_REFUSALS = {"rate_limited": "too many messages", "slow_mode": "slow mode is on",
             "repeated_text": "you sent this already"}

KeywordHook = Callable[[ChatMessage], Awaitable[None]]


class Publisher(Protocol):
    """The part of the real-time hub chat uses (docs/decisions/0002-realtime-hub.md)."""

    async def publish(
        self, show_id: int, event: str, payload: dict[str, Any], *, coalesce: bool = False,
        logged: bool = True, staff_only: bool = False, only_user: str | None = None,
    ) -> int | None: ...


class Caller(Protocol):
    """Who sent a socket event: the hub's handler context."""

    @property
    def principal(self) -> Principal: ...

    @property
    def show_id(self) -> Any: ...

    @property
    def ip(self) -> str | None: ...


__all__ = ["ChatLimits", "ChatService"]


def error_ack(exc: DomainError) -> dict[str, Any]:
    """The ack of a refused event: {"ok": false, "error": code, ...extra}."""
    return {"ok": False, "error": exc.code, **exc.extra}


class ChatRate:
    """Messages accepted per show in the last minute, counted per second."""

    def __init__(self) -> None:
        self._counts: dict[int, deque[list[int]]] = {}

    def add(self, show_id: int, now: float) -> None:
        second = int(now)
        counts = self._counts.get(show_id)
        if counts is None:
            counts = self._counts[show_id] = deque(maxlen=60)
        if counts and counts[-1][0] == second:
            counts[-1][1] += 1
        else:
            counts.append([second, 1])

    def per_minute(self, show_id: int, now: float) -> int:
        cutoff = int(now) - 60
        return sum(n for second, n in self._counts.get(show_id, ()) if second > cutoff)


class ChatService:
    def __init__(
        self, hub: Publisher, state: ChatState, history: History, writer: BatchWriter,
        nonces: Nonces, clock: Callable[[], float], limits: ChatLimits | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        self.hub = hub
        self.state = state
        self.history = history
        self.writer = writer
        self.nonces = nonces
        self.clock = clock
        self.limiter: Limiter = limiter or LocalLimits()
        self.set_limits(limits or ChatLimits())
        self.rate = ChatRate()
        self._hooks: dict[str, list[KeywordHook]] = {}
        self._keywords = KeywordMatcher()
        self._tasks: set[asyncio.Task[None]] = set()
        self.closing = False
        self._last_id = 0

    def set_limits(self, limits: ChatLimits) -> None:
        """Replace the sending limits (this node's buckets start full again)."""
        self.limits = limits
        self.limiter.configure(limits)

    async def send(self, caller: Caller, data: Any) -> dict[str, Any]:
        """Socket event `chat` {text, nonce, reply_to?}. Ack {"ok": true, "id": n} or
        {"ok": false, "error": code, ...} (rate limits add "retry_after": seconds).
        The same nonce from the same user again returns the first ack."""
        try:
            if not isinstance(data, dict):
                raise Invalid("invalid_payload", "send an object {text, nonce}")
            nonce = clean_nonce(data.get("nonce"))
            show_id = _show_id(caller.show_id)
        except DomainError as exc:
            return error_ack(exc)
        key = f"{caller.principal.id}:{show_id}:{nonce}"
        prior = await self.nonces.begin(key)
        if prior is not None:
            return prior
        try:
            message = await self._accept(caller, show_id, data)
            ack: dict[str, Any] = {"ok": True, "id": message.id}
        except DomainError as exc:
            ack = error_ack(exc)
        except Exception:
            log.exception("chat send failed")
            ack = error_ack(Unavailable("unavailable", "try again"))
        await self.nonces.settle(key, ack)
        return ack

    async def _accept(self, caller: Caller, show_id: int, data: dict[str, Any]) -> ChatMessage:
        if self.closing:
            raise Unavailable("unavailable", "the server is restarting; send again")
        principal, now = caller.principal, self.clock()
        text = clean_text(data.get("text"), self.limits.max_chars)
        chat = await self.state.show(show_id)
        check_may_speak(chat.settings, principal, self.state.joined_at(show_id, principal.id), now)
        self.state.sanctions.check(show_id, principal.id, now)
        moderator = is_moderator(principal)
        skel = skeleton(text)
        shadow = False
        if not moderator:
            host = self.state.links.first_refused(text)
            if host is not None:
                raise Forbidden("link_not_allowed", "links to this site are not allowed",
                                host=host)
            verdict = self.state.words.check(text)
            if verdict.action is WordAction.BLOCK:
                raise Forbidden("blocked_word", "the message contains a blocked word")
            shadow = verdict.action is WordAction.SHADOW
            text = verdict.text
        reply_to = await self._reply(show_id, data.get("reply_to"))
        # Last of the checks: the limiter records the message when it lets it through,
        # so a message refused for another reason costs the sender nothing.
        refusal = await self.limiter.check(LimitAsk(
            user_id=principal.id, staff=principal.is_staff,
            guest_ip=caller.ip if principal.guest else None,
            slow_key=f"{show_id}:{principal.id}",
            slow_seconds=0 if moderator else chat.settings.slow_seconds,
            skeleton=skel, check_flood=not moderator,
        ), now)
        if refusal is not None:
            raise RateLimited(refusal.code, _REFUSALS.get(refusal.code, "slow down"),
                              retry_after=refusal.retry_after)
        message = ChatMessage(
            show_id=show_id, user_id=principal.id, nickname=principal.name,
            badges=badges_for(principal), text=text, at=datetime.fromtimestamp(now, UTC),
            reply_to=reply_to, shadow=shadow,
        )
        payload = message.payload()
        if shadow:
            # The author sees it like any other message; nobody else gets it.
            # Unlogged events get no id from the hub: make one in the same µs-clock space
            # and send it along, so the author's screen (and its buttons) can refer to it.
            sent = max(int(now * 1_000_000), self._last_id + 1)
            await self.hub.publish(show_id, "chat", message.with_id(sent).payload(),
                                   coalesce=True, logged=False, only_user=principal.id)
        else:
            logged_id = await self.hub.publish(show_id, "chat", payload, coalesce=True)
            if logged_id is None:
                raise Unavailable("unavailable", "chat is not available")
            sent = logged_id
        self._last_id = max(self._last_id, sent)
        message = message.with_id(sent)
        await self.history.append(message)
        self.writer.add(message)
        self.rate.add(show_id, now)
        if self._hooks and not shadow:
            for keyword in self._keywords.find(skel):
                for hook in self._hooks.get(keyword, ()):
                    self._spawn(hook, message)
        return message

    async def _reply(self, show_id: int, raw: object) -> dict[str, Any] | None:
        if raw is None:
            return None
        if not isinstance(raw, int) or isinstance(raw, bool) or raw <= 0:
            raise Invalid("invalid_reply", "reply_to is a message id")
        entry = await self.history.find(show_id, raw)
        if entry is None:
            raise NotFound("reply_not_found", "that message is gone")
        return {"id": entry["id"], "user_id": entry["user_id"],
                "nickname": entry["nickname"], "text": str(entry["text"])[:80]}

    def register_keyword(self, keyword: str, hook: KeywordHook) -> Callable[[], None]:
        """Call `hook(message)` for each accepted message containing `keyword` (matched
        like blocked words: NFKC, case-folded, spaces and symbols ignored). Returns an
        unregister function. Hooks run after the ack and must not block."""
        if not skeleton(keyword):
            raise Invalid("invalid_keyword", "a keyword needs a letter or digit")
        self._hooks.setdefault(keyword, []).append(hook)
        self._keywords = KeywordMatcher(list(self._hooks))

        def unregister() -> None:
            hooks = self._hooks.get(keyword, [])
            if hook in hooks:
                hooks.remove(hook)
            if not hooks:
                self._hooks.pop(keyword, None)
            self._keywords = KeywordMatcher(list(self._hooks))

        return unregister

    def _spawn(self, hook: KeywordHook, message: ChatMessage) -> None:
        task = asyncio.get_running_loop().create_task(_run_hook(hook, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def snapshot(self, show_id: int, principal: Principal) -> dict[str, Any]:
        """Join snapshot under "chat": the last 50 messages (oldest first), the pinned
        announcement, the highlighted message and the show's chat settings."""
        chat = await self.state.show(show_id)
        messages = await self.history.recent(show_id, RECENT, principal.id or None)
        return {"chat": {
            "messages": messages, "announcement": chat.announcement,
            "highlighted": chat.highlighted, "settings": chat.settings.as_dict(),
        }}

    async def stats(self, show_id: int) -> dict[str, Any]:
        return {"chat": {"per_minute": self.rate.per_minute(show_id, self.clock())}}

    async def stop(self) -> None:
        """Refuse new messages, wait for running hooks, flush the batch."""
        self.closing = True
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
        await self.writer.stop()


async def _run_hook(hook: KeywordHook, message: ChatMessage) -> None:
    try:
        await hook(message)
    except Exception:
        log.exception("chat keyword hook failed")


def _show_id(raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return raw
    if isinstance(raw, str) and raw.isdigit() and 0 < len(raw) <= 10:
        return int(raw)
    raise Forbidden("not_joined", "join a show before chatting")
