"""Database access for chat: settings, word and link lists, sanctions, the audit log and
message reads for the API (writes of messages go through history.BatchWriter)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.domain import Mode, Sanction, SanctionKind, ShowChatSettings
from chat.tables import (
    ChatAllowedDomainRow,
    ChatBlockedWordRow,
    ChatMessageRow,
    ChatModerationRow,
    ChatSanctionRow,
    ChatShowSettingsRow,
)
from chat.words import BlockedWord, WordAction
from server.auth.domain import Principal
from server.db import utcnow
from server.errors import Conflict


@dataclass(frozen=True, slots=True)
class ShowChat:
    """What a show's chat looks like to a newcomer besides its messages."""

    settings: ShowChatSettings = field(default_factory=ShowChatSettings)
    announcement: dict[str, Any] | None = None
    highlighted: dict[str, Any] | None = None


class ChatStore:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    async def show(self, show_id: int) -> ShowChat:
        async with self._sessions() as db:
            row = await db.get(ChatShowSettingsRow, show_id)
        if row is None:
            return ShowChat()
        return ShowChat(
            ShowChatSettings(row.slow_seconds, Mode(row.mode), row.established_minutes,
                             row.frozen),
            json.loads(row.announcement) if row.announcement else None,
            json.loads(row.highlighted) if row.highlighted else None,
        )

    async def save_show(self, show_id: int, chat: ShowChat) -> None:
        async with self._sessions.begin() as db:
            row = await db.get(ChatShowSettingsRow, show_id, with_for_update=True)
            if row is None:
                row = ChatShowSettingsRow(show_id=show_id)
                db.add(row)
            row.slow_seconds = chat.settings.slow_seconds
            row.mode = chat.settings.mode.value
            row.established_minutes = chat.settings.established_minutes
            row.frozen = chat.settings.frozen
            row.announcement = _dumps(chat.announcement)
            row.highlighted = _dumps(chat.highlighted)
            row.updated_at = self._clock()

    async def words(self) -> list[dict[str, Any]]:
        async with self._sessions() as db:
            rows = (await db.scalars(select(ChatBlockedWordRow).order_by(ChatBlockedWordRow.id)))
            return [{"id": r.id, "word": r.word, "action": r.action, "created_by": r.created_by,
                     "created_at": r.created_at.isoformat()} for r in rows]

    async def add_word(self, word: str, action: WordAction, actor: Principal) -> int:
        """Error: word_exists."""
        async with self._sessions.begin() as db:
            exists = await db.scalar(
                select(ChatBlockedWordRow.id).where(ChatBlockedWordRow.word == word))
            if exists is not None:
                raise Conflict("word_exists", "that word is already on the list")
            row = ChatBlockedWordRow(word=word, action=action.value, created_by=actor.id,
                                     created_at=self._clock())
            db.add(row)
            await db.flush()
            return row.id

    async def remove_word(self, word_id: int) -> str | None:
        async with self._sessions.begin() as db:
            row = await db.get(ChatBlockedWordRow, word_id)
            if row is None:
                return None
            await db.delete(row)
            return row.word

    async def word_entries(self) -> list[BlockedWord]:
        return [BlockedWord(w["word"], WordAction(w["action"])) for w in await self.words()]

    async def domains(self) -> list[str]:
        async with self._sessions() as db:
            return list(await db.scalars(
                select(ChatAllowedDomainRow.domain).order_by(ChatAllowedDomainRow.domain)))

    async def set_domains(self, domains: list[str], actor: Principal) -> None:
        async with self._sessions.begin() as db:
            await db.execute(delete(ChatAllowedDomainRow))
            now = self._clock()
            for domain in sorted(set(domains)):
                db.add(ChatAllowedDomainRow(domain=domain, created_by=actor.id, created_at=now))

    async def sanctions(self, now: float) -> list[Sanction]:
        async with self._sessions() as db:
            rows = await db.scalars(select(ChatSanctionRow).where(
                ChatSanctionRow.lifted_at.is_(None),
                or_(ChatSanctionRow.until.is_(None), ChatSanctionRow.until > now),
            ))
            return [Sanction(SanctionKind(r.kind), r.user_id, r.show_id, r.until) for r in rows]

    async def add_sanction(self, sanction: Sanction, reason: str, actor: Principal) -> None:
        async with self._sessions.begin() as db:
            db.add(ChatSanctionRow(
                show_id=sanction.show_id, user_id=sanction.user_id, kind=sanction.kind.value,
                until=sanction.until, reason=reason, created_by=actor.id,
                created_at=self._clock(),
            ))

    async def lift_sanctions(self, show_id: int | None, user_id: str) -> int:
        """Lift the user's time-outs and bans in this scope (a show, or shop-wide)."""
        scope = (ChatSanctionRow.show_id.is_(None) if show_id is None
                 else ChatSanctionRow.show_id == show_id)
        async with self._sessions.begin() as db:
            result = await db.execute(
                update(ChatSanctionRow)
                .where(ChatSanctionRow.user_id == user_id, scope,
                       ChatSanctionRow.lifted_at.is_(None))
                .values(lifted_at=self._clock())
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def audit(
        self, actor: Principal, action: str, *, show_id: int | None,
        target_user_id: str | None = None, message_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        async with self._sessions.begin() as db:
            db.add(ChatModerationRow(
                show_id=show_id, actor_id=actor.id, actor_name=actor.name, action=action,
                target_user_id=target_user_id, message_id=message_id,
                detail=json.dumps(detail or {}, ensure_ascii=False), at=self._clock(),
            ))

    async def audit_log(self, show_id: int, after: int, limit: int) -> list[dict[str, Any]]:
        """This show's actions and the shop-wide ones, oldest first."""
        async with self._sessions() as db:
            rows = await db.scalars(
                select(ChatModerationRow)
                .where(or_(ChatModerationRow.show_id == show_id,
                           ChatModerationRow.show_id.is_(None)),
                       ChatModerationRow.id > after)
                .order_by(ChatModerationRow.id).limit(limit)
            )
            return [{
                "id": r.id, "show_id": r.show_id, "actor_id": r.actor_id,
                "actor_name": r.actor_name, "action": r.action,
                "target_user_id": r.target_user_id, "message_id": r.message_id,
                "detail": json.loads(r.detail), "at": r.at.isoformat(),
            } for r in rows]

    async def messages(self, show_id: int, after: int, limit: int) -> list[ChatMessageRow]:
        async with self._sessions() as db:
            rows = await db.scalars(
                select(ChatMessageRow)
                .where(ChatMessageRow.show_id == show_id, ChatMessageRow.id > after)
                .order_by(ChatMessageRow.id).limit(limit)
            )
            return list(rows)

    async def all_messages(self, show_id: int, chunk: int = 2000) -> AsyncIterator[ChatMessageRow]:
        after = 0
        while True:
            rows = await self.messages(show_id, after, chunk)
            for row in rows:
                yield row
            if len(rows) < chunk:
                return
            after = rows[-1].id


def _dumps(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)
