"""What this node knows about chat rules right now: show settings, words, links, sanctions
and join times, kept in step across nodes through the bus."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from chat.domain import Mode, Sanction, SanctionKind, Sanctions, ShowChatSettings
from chat.store import ChatStore, ShowChat
from chat.words import BlockedWord, LinkPolicy, WordAction, WordFilter
from server.bus import Bus

log = logging.getLogger("onair.chat")

CHANNEL = "chat"


class ChatState:
    """Caches read on every message; every change arrives as a bus message (also on the
    node that made it), so all nodes apply changes the same way."""

    def __init__(self, store: ChatStore, bus: Bus, clock: Callable[[], float],
                 redis: Redis | None = None, redis_prefix: str = "") -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._redis = redis
        self._prefix = redis_prefix + "chat:"
        self.words = WordFilter()
        self.links = LinkPolicy()
        self.sanctions = Sanctions()
        self._shows: dict[int, ShowChat] = {}
        self._loading: dict[int, asyncio.Task[ShowChat]] = {}
        self._joined: dict[tuple[int, str], float] = {}
        self.on_hide: list[Callable[[dict[str, Any]], None]] = []
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        self._unsubscribe = self._bus.subscribe(CHANNEL, self.apply)
        self.words = WordFilter(await self._store.word_entries())
        self.links = LinkPolicy(set(await self._store.domains()))
        for sanction in await self._store.sanctions(self._clock()):
            self.sanctions.add(sanction)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    async def show(self, show_id: int) -> ShowChat:
        """The show's chat settings: from memory, loaded once per node."""
        chat = self._shows.get(show_id)
        if chat is not None:
            return chat
        task = self._loading.get(show_id)
        if task is None:
            task = self._loading[show_id] = asyncio.ensure_future(self._store.show(show_id))
        try:
            loaded = await asyncio.shield(task)
        finally:
            self._loading.pop(show_id, None)
        return self._shows.setdefault(show_id, loaded)

    async def publish(self, message: dict[str, Any]) -> None:
        await self._bus.publish(CHANNEL, message)

    def apply(self, message: dict[str, Any]) -> None:
        """Bus handler: one change to the rules (see the `op` values below)."""
        op = message.get("op")
        if op == "show":
            show = message["show"]
            self._shows[int(message["show_id"])] = ShowChat(
                ShowChatSettings(int(show["slow_seconds"]), Mode(show["mode"]),
                                 int(show["established_minutes"]), bool(show["frozen"])),
                show.get("announcement"), show.get("highlighted"),
            )
        elif op == "words":
            self.words = WordFilter([BlockedWord(w, WordAction(a)) for w, a in message["words"]])
        elif op == "domains":
            self.links = LinkPolicy(set(message["domains"]))
        elif op == "sanction":
            self.sanctions.add(Sanction(SanctionKind(message["kind"]), message["user_id"],
                                        message.get("show_id"), message.get("until")))
        elif op == "lift":
            self.sanctions.lift(message.get("show_id"), message["user_id"])
        elif op == "hide":
            for handler in self.on_hide:
                handler(message)
        self.sanctions.prune(self._clock())

    @staticmethod
    def show_message(show_id: int, chat: ShowChat) -> dict[str, Any]:
        return {"op": "show", "show_id": show_id, "show": {
            **chat.settings.as_dict(), "announcement": chat.announcement,
            "highlighted": chat.highlighted}}

    def joined_at(self, show_id: int, user_id: str) -> float | None:
        return self._joined.get((show_id, user_id))

    async def joined(self, show_id: int, user_id: str) -> None:
        """Remember the first time this user joined the show (shared through Redis)."""
        key = (show_id, user_id)
        if key in self._joined:
            return
        now = self._clock()
        first = now
        if self._redis is not None:
            name = f"{self._prefix}{show_id}:joined"
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.hsetnx(name, user_id, repr(now))
                    pipe.hget(name, user_id)
                    pipe.expire(name, 2 * 86400)
                    _, stored, _ = await pipe.execute()
                first = float(stored) if stored is not None else now
            except (RedisError, OSError, ValueError) as exc:
                log.warning("chat join time not shared: %s", exc)
        self._joined[key] = first
        if len(self._joined) > 500_000:
            self._joined.clear()
