"""Thin HTTP handlers for chat: history and CSV export, moderation, word and link lists."""

from __future__ import annotations

import csv
import io
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from chat.keys import CHAT
from chat.store import ChatStore
from chat.tables import ChatMessageRow
from server.api import Operations, json_response, read_json, read_query
from server.auth.middleware import principal_of
from server.errors import NotFound

ops = Operations(tag="chat")
_AUTH = ("login_required", "permission_denied")


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: int = Field(default=0, ge=0, description="the last message id you have")
    limit: int = Field(default=100, ge=1, le=1000)


class StoredMessage(BaseModel):
    id: int
    show_id: int
    user_id: str
    nickname: str
    badges: list[str]
    text: str
    reply_to: int | None
    at: str
    hidden: bool
    shadow: bool


class HistoryOut(BaseModel):
    messages: list[StoredMessage]
    next_after: int = Field(description="pass as `after` for the next page")


class ModerationIn(BaseModel):
    """The same payload as the `chat_moderate` socket event."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["hide", "hide_user", "timeout", "ban", "unban", "settings", "announce",
                    "highlight"]
    message_id: int | None = Field(default=None, ge=1)
    user_id: str | None = Field(default=None, min_length=1, max_length=80)
    seconds: int | None = Field(default=None, ge=1, le=7 * 86400)
    scope: Literal["show", "shop"] = "show"
    reason: str | None = Field(default=None, max_length=200)
    text: str | None = Field(default=None, max_length=2000)
    slow_seconds: int | None = Field(default=None, ge=0, le=3600)
    mode: Literal["open", "members", "established"] | None = None
    established_minutes: int | None = Field(default=None, ge=0, le=1440)
    frozen: bool | None = None


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: int = Field(default=0, ge=0)
    limit: int = Field(default=100, ge=1, le=1000)


class WordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    word: str = Field(min_length=1, max_length=50)
    action: Literal["block", "shadow", "mask"] = "block"


class DomainsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domains: list[str] = Field(max_length=500)


def _show_id(request: web.Request) -> int:
    raw = request.match_info["show_id"]
    if not raw.isdigit() or len(raw) > 10 or int(raw) > 2**31 - 1:
        raise NotFound("show_not_found", "no such show")
    return int(raw)


def _stored(row: ChatMessageRow) -> StoredMessage:
    return StoredMessage(
        id=row.id, show_id=row.show_id, user_id=row.user_id, nickname=row.nickname,
        badges=row.badges.split(), text=row.text, reply_to=row.reply_to,
        at=row.at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        hidden=row.hidden, shadow=row.shadow,
    )


def _store(request: web.Request) -> ChatStore:
    return request.app[CHAT].store


@ops.get("/api/v1/shows/{show_id}/chat", summary="Stored chat of a show, oldest first",
         query=HistoryQuery, response=HistoryOut, auth="staff", scope="chat:read",
         errors=_AUTH)
async def chat_history(request: web.Request) -> web.Response:
    show_id = _show_id(request)
    query = read_query(request, HistoryQuery)
    principal_of(request).require("chat:read")
    rows = await _store(request).messages(show_id, query.after, query.limit)
    return json_response(HistoryOut(messages=[_stored(r) for r in rows],
                                    next_after=rows[-1].id if rows else query.after))


@ops.get("/api/v1/shows/{show_id}/chat/export.csv", summary="Export a show's chat as CSV",
         auth="staff", scope="chat:read", errors=_AUTH)
async def chat_export(request: web.Request) -> web.StreamResponse:
    show_id = _show_id(request)
    principal_of(request).require("chat:read")
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="show-{show_id}-chat.csv"',
    })
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "at", "user_id", "nickname", "badges", "text", "reply_to",
                     "hidden", "shadow"])
    count = 0
    async for row in _store(request).all_messages(show_id):
        writer.writerow([row.id, _stored(row).at, row.user_id, _cell(row.nickname),
                         row.badges, _cell(row.text), row.reply_to or "",
                         int(row.hidden), int(row.shadow)])
        count += 1
        if count % 500 == 0:
            await response.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response


def _cell(text: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas; quote them out."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@ops.post("/api/v1/shows/{show_id}/chat/moderation",
          summary="Moderate a show's chat (same actions as the chat_moderate event)",
          body=ModerationIn, auth="staff", scope="chat:moderate",
          errors=(*_AUTH, "invalid_user", "invalid_message", "invalid_setting",
                  "message_not_found", "validation_failed"))
async def moderate(request: web.Request) -> web.Response:
    show_id = _show_id(request)
    body = await read_json(request, ModerationIn)
    data: dict[str, Any] = body.model_dump(exclude_unset=True)
    result = await request.app[CHAT].moderation.act(principal_of(request), show_id, data)
    return json_response({"ok": True, **result})


@ops.get("/api/v1/shows/{show_id}/chat/moderation",
         summary="The moderation log of a show (and shop-wide actions)", query=AuditQuery,
         auth="staff", scope="chat:moderate", errors=_AUTH)
async def moderation_log(request: web.Request) -> web.Response:
    show_id = _show_id(request)
    query = read_query(request, AuditQuery)
    principal_of(request).require("chat:moderate")
    entries = await _store(request).audit_log(show_id, query.after, query.limit)
    next_after = entries[-1]["id"] if entries else query.after
    return json_response({"entries": entries, "next_after": next_after})


@ops.get("/api/v1/shows/{show_id}/chat/settings",
         summary="A show's chat settings, announcement and highlighted message",
         auth="staff", scope="chat:read", errors=_AUTH)
async def chat_settings(request: web.Request) -> web.Response:
    show_id = _show_id(request)
    principal_of(request).require("chat:read")
    chat = await request.app[CHAT].chat.state.show(show_id)
    return json_response({"settings": chat.settings.as_dict(),
                          "announcement": chat.announcement, "highlighted": chat.highlighted})


@ops.get("/api/v1/chat/blocked-words", summary="The blocked-words list", auth="staff",
         scope="chat:moderate", errors=_AUTH)
async def list_words(request: web.Request) -> web.Response:
    principal_of(request).require("chat:moderate")
    return json_response({"words": await _store(request).words()})


@ops.post("/api/v1/chat/blocked-words", summary="Add a blocked word (live on every node)",
          body=WordIn, status=201, auth="staff", scope="chat:moderate",
          errors=(*_AUTH, "invalid_word", "word_exists"))
async def add_word(request: web.Request) -> web.Response:
    body = await read_json(request, WordIn)
    entry = await request.app[CHAT].moderation.add_word(
        principal_of(request), body.word, body.action)
    return json_response(entry, status=201)


@ops.delete("/api/v1/chat/blocked-words/{word_id}", summary="Remove a blocked word",
            status=204, auth="staff", scope="chat:moderate",
            errors=(*_AUTH, "word_not_found"))
async def remove_word(request: web.Request) -> web.Response:
    raw = request.match_info["word_id"]
    if not raw.isdigit() or len(raw) > 10:
        raise NotFound("word_not_found", "no such blocked word")
    await request.app[CHAT].moderation.remove_word(principal_of(request), int(raw))
    return web.Response(status=204)


@ops.get("/api/v1/chat/link-domains", summary="Domains chat links may point to",
         auth="staff", scope="chat:moderate", errors=_AUTH)
async def list_domains(request: web.Request) -> web.Response:
    principal_of(request).require("chat:moderate")
    return json_response({"domains": await _store(request).domains()})


@ops.put("/api/v1/chat/link-domains", summary="Replace the allowed link domains",
         body=DomainsIn, auth="staff", scope="chat:moderate",
         errors=(*_AUTH, "invalid_domain"))
async def set_domains(request: web.Request) -> web.Response:
    body = await read_json(request, DomainsIn)
    domains = await request.app[CHAT].moderation.set_domains(principal_of(request),
                                                             body.domains)
    return json_response({"domains": domains})
