"""Tables of the chat context: messages, per-show settings, word and link lists,
sanctions and the moderation audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime


class ChatMessageRow(Base):
    """An accepted message; `id` is the hub's event id (ordered per show)."""

    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_show_id_id", "show_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    show_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[str] = mapped_column(String(80))
    nickname: Mapped[str] = mapped_column(String(40))
    badges: Mapped[str] = mapped_column(String(200), default="")  # space separated
    text: Mapped[str] = mapped_column(String(1000))
    reply_to: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    shadow: Mapped[bool] = mapped_column(Boolean, default=False)


class ChatShowSettingsRow(Base):
    __tablename__ = "chat_show_settings"

    show_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    slow_seconds: Mapped[int] = mapped_column(Integer, default=0)
    mode: Mapped[str] = mapped_column(String(20), default="open")
    established_minutes: Mapped[int] = mapped_column(Integer, default=0)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    announcement: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON
    highlighted: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChatBlockedWordRow(Base):
    __tablename__ = "chat_blocked_words"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    word: Mapped[str] = mapped_column(String(50), unique=True)
    action: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChatAllowedDomainRow(Base):
    __tablename__ = "chat_allowed_domains"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChatSanctionRow(Base):
    """A time-out or ban; show_id NULL is shop-wide; `until` is epoch seconds or NULL."""

    __tablename__ = "chat_sanctions"
    __table_args__ = (Index("ix_chat_sanctions_user_id_show_id", "user_id", "show_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    show_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    user_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))
    until: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ChatModerationRow(Base):
    """The audit log: who did what to whom, when."""

    __tablename__ = "chat_moderation_log"
    __table_args__ = (Index("ix_chat_moderation_log_show_id_id", "show_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    show_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_id: Mapped[str] = mapped_column(String(80))
    actor_name: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(30))
    target_user_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    at: Mapped[datetime] = mapped_column(UTCDateTime())
