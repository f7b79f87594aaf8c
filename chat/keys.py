"""Where the chat context keeps its services on the app (other contexts use CHAT to
register keyword hooks: `app[CHAT].chat.register_keyword("응모", hook)`)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from chat.moderation import ModerationService
from chat.service import ChatService
from chat.store import ChatStore


@dataclass(frozen=True, slots=True)
class Chat:
    chat: ChatService
    moderation: ModerationService
    store: ChatStore


CHAT = web.AppKey("chat", Chat)
