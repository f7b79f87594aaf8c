"""Thin HTTP handlers for shows: /api/v1/shows, lifecycle actions, lineup, pin, highlights."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from broadcasts.domain import (
    COVER_URL_MAX,
    DESCRIPTION_MAX,
    MAX_HOSTS,
    MAX_LINEUP,
    TITLE_MAX,
    Show,
    ShowStatus,
    show_not_found,
)
from broadcasts.service import NewShow
from orders.catalog_domain import product_not_found
from server.api import Handler, Operations, json_response, read_json, read_query
from server.auth.domain import Principal
from server.auth.middleware import principal_of
from server.keys import SHOWS

ops = Operations(tag="shows")
_AUTH = ("login_required", "permission_denied")
_FOUND = (*_AUTH, "show_not_found")
Username = str


class ShowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    cover_url: str = Field(default="", max_length=COVER_URL_MAX)
    time_zone: str | None = Field(default=None, min_length=1, max_length=64,
                                  description="IANA zone; default: the server's")
    scheduled_at: AwareDatetime | None = None
    hosts: list[Username] | None = Field(
        default=None, max_length=MAX_HOSTS,
        description="console usernames; default: the creator")


class ShowPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    cover_url: str | None = Field(default=None, max_length=COVER_URL_MAX)
    time_zone: str | None = Field(default=None, min_length=1, max_length=64)
    scheduled_at: AwareDatetime | None = Field(default=None, description="null clears it")
    hosts: list[Username] | None = Field(default=None, max_length=MAX_HOSTS)


class HostOut(BaseModel):
    id: int
    username: str
    display_name: str


class ShowOut(BaseModel):
    id: int
    title: str
    description: str
    cover_url: str
    status: ShowStatus
    time_zone: str
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    hosts: list[HostOut]
    stream_key: str | None = Field(description="only for callers with shows:control")
    product_ids: list[int]
    pinned_product_id: int | None
    highlighted: list[int]


StatusName = Literal["draft", "scheduled", "rehearsal", "live", "ended", "cancelled"]


class ShowQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # A Literal, not the enum: query parameters are inlined in OpenAPI, without $defs.
    status: StatusName | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class ProductRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: int = Field(ge=1, le=2**31 - 1, strict=True)


class LineupOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_ids: list[int] = Field(max_length=MAX_LINEUP)


class LineupEntry(BaseModel):
    id: int
    sku: str
    name: str
    price: int
    image_url: str
    stock: int
    position: int
    highlighted: bool
    pinned: bool


class LineupOut(BaseModel):
    show_id: int
    pinned_product_id: int | None
    highlighted: list[int]
    items: list[LineupEntry]


def show_out(show: Show, who: Principal) -> ShowOut:
    return ShowOut(
        id=show.id, title=show.title, description=show.description, cover_url=show.cover_url,
        status=show.status, time_zone=show.time_zone, scheduled_at=show.scheduled_at,
        started_at=show.started_at, ended_at=show.ended_at,
        hosts=[HostOut(id=h.user_id, username=h.username, display_name=h.display_name)
               for h in show.hosts],
        stream_key=show.stream_key if who.can("shows:control") else None,
        product_ids=show.product_ids, pinned_product_id=show.pinned_product_id,
        highlighted=show.highlighted_ids,
    )


async def lineup_out(request: web.Request, show: Show) -> LineupOut:
    cards = await request.app[SHOWS].lineup_cards(show)
    return LineupOut(
        show_id=show.id, pinned_product_id=show.pinned_product_id,
        highlighted=show.highlighted_ids, items=[LineupEntry(**card) for card in cards],
    )


def _int_param(request: web.Request, name: str) -> int | None:
    raw = request.match_info[name]
    if not raw.isdigit() or len(raw) > 10 or int(raw) > 2**31 - 1:
        return None
    return int(raw)


def show_id_of(request: web.Request) -> int:
    value = _int_param(request, "show_id")
    if value is None:
        raise show_not_found(request.match_info["show_id"][:20])
    return value


def product_id_of(request: web.Request) -> int:
    value = _int_param(request, "product_id")
    if value is None:
        raise product_not_found(request.match_info["product_id"][:20])
    return value


@ops.get("/api/v1/shows", summary="List shows, newest first", query=ShowQuery,
         response=ShowOut, list_response=True, auth="staff", scope="shows:read", errors=_AUTH)
async def list_shows(request: web.Request) -> web.Response:
    query = read_query(request, ShowQuery)
    who = principal_of(request)
    shows = await request.app[SHOWS].list_shows(
        who, status=ShowStatus(query.status) if query.status else None, limit=query.limit,
        offset=query.offset)
    return json_response([show_out(show, who).model_dump(mode="json") for show in shows])


@ops.post("/api/v1/shows", summary="Create a draft show", body=ShowIn, response=ShowOut,
          status=201, auth="staff", scope="shows:write",
          errors=(*_AUTH, "validation_failed", "invalid_time_zone", "invalid_cover_url",
                  "unknown_host"))
async def create_show(request: web.Request) -> web.Response:
    body = await read_json(request, ShowIn)
    who = principal_of(request)
    show = await request.app[SHOWS].create_show(who, NewShow(**body.model_dump()))
    return json_response(show_out(show, who), status=201)


@ops.get("/api/v1/shows/{show_id}", summary="Get a show", response=ShowOut, auth="staff",
         scope="shows:read", errors=_FOUND)
async def get_show(request: web.Request) -> web.Response:
    who = principal_of(request)
    show = await request.app[SHOWS].get_show(who, show_id_of(request))
    return json_response(show_out(show, who))


@ops.patch("/api/v1/shows/{show_id}", summary="Edit a show's details", body=ShowPatch,
           response=ShowOut, auth="staff", scope="shows:write",
           errors=(*_FOUND, "show_closed", "scheduled_start_required", "validation_failed",
                   "invalid_time_zone", "invalid_cover_url", "unknown_host"))
async def edit_show(request: web.Request) -> web.Response:
    show_id = show_id_of(request)
    body = await read_json(request, ShowPatch)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    for key in ("title", "description", "cover_url", "time_zone", "hosts"):
        if key in changes and changes[key] is None:
            del changes[key]  # null means "leave as is" except for scheduled_at
    who = principal_of(request)
    show = await request.app[SHOWS].edit_show(who, show_id, changes)
    return json_response(show_out(show, who))


def _transition(action: str, path: str, summary: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        who = principal_of(request)
        show = await request.app[SHOWS].transition(who, show_id_of(request), action)
        return json_response(show_out(show, who))

    handler.__name__ = handler.__qualname__ = f"{action}_show"
    errors: tuple[str, ...] = (*_FOUND, "invalid_transition")
    if action == "schedule":
        errors += ("scheduled_start_required",)
    ops.post(f"/api/v1/shows/{{show_id}}/{path}", summary=summary, response=ShowOut,
             auth="staff", scope="shows:control", errors=errors)(handler)
    return handler


schedule_show = _transition("schedule", "schedule", "Schedule a draft (needs scheduled_at)")
rehearse_show = _transition("rehearse", "rehearse", "Start the rehearsal")
go_live_show = _transition("go_live", "go-live", "Go live")
end_show = _transition("end", "end", "End the live show")
cancel_show = _transition("cancel", "cancel", "Cancel a draft or scheduled show")


@ops.post("/api/v1/shows/{show_id}/stream-key", summary="Replace the stream key",
          response=ShowOut, auth="staff", scope="shows:control",
          errors=(*_FOUND, "show_closed"))
async def regenerate_stream_key(request: web.Request) -> web.Response:
    who = principal_of(request)
    show = await request.app[SHOWS].regenerate_stream_key(who, show_id_of(request))
    return json_response(show_out(show, who))


@ops.get("/api/v1/shows/{show_id}/lineup", summary="The lineup with live stock",
         response=LineupOut, auth="staff", scope="shows:read", errors=_FOUND)
async def get_lineup(request: web.Request) -> web.Response:
    show = await request.app[SHOWS].get_show(principal_of(request), show_id_of(request))
    return json_response(await lineup_out(request, show))


@ops.post("/api/v1/shows/{show_id}/lineup", summary="Add a product to the end of the lineup",
          body=ProductRef, response=LineupOut, status=201, auth="staff", scope="shows:write",
          errors=(*_FOUND, "product_not_found", "already_in_lineup", "lineup_full",
                  "show_closed"))
async def add_to_lineup(request: web.Request) -> web.Response:
    show_id = show_id_of(request)
    body = await read_json(request, ProductRef)
    show = await request.app[SHOWS].add_product(principal_of(request), show_id, body.product_id)
    return json_response(await lineup_out(request, show), status=201)


@ops.put("/api/v1/shows/{show_id}/lineup", summary="Reorder the lineup", body=LineupOrder,
         response=LineupOut, auth="staff", scope="shows:write",
         errors=(*_FOUND, "lineup_mismatch", "show_closed"))
async def reorder_lineup(request: web.Request) -> web.Response:
    show_id = show_id_of(request)
    body = await read_json(request, LineupOrder)
    show = await request.app[SHOWS].reorder(principal_of(request), show_id, body.product_ids)
    return json_response(await lineup_out(request, show))


@ops.delete("/api/v1/shows/{show_id}/lineup/{product_id}",
            summary="Take a product off the lineup", response=LineupOut, auth="staff",
            scope="shows:write", errors=(*_FOUND, "not_in_lineup", "show_closed"))
async def remove_from_lineup(request: web.Request) -> web.Response:
    show_id, product_id = show_id_of(request), product_id_of(request)
    show = await request.app[SHOWS].remove_product(principal_of(request), show_id, product_id)
    return json_response(await lineup_out(request, show))


@ops.post("/api/v1/shows/{show_id}/pin", summary="Pin a lineup product (replaces the pin)",
          body=ProductRef, response=LineupOut, auth="staff", scope="shows:control",
          errors=(*_FOUND, "not_in_lineup", "show_closed"))
async def pin_product(request: web.Request) -> web.Response:
    show_id = show_id_of(request)
    body = await read_json(request, ProductRef)
    show = await request.app[SHOWS].pin(principal_of(request), show_id, body.product_id)
    return json_response(await lineup_out(request, show))


@ops.delete("/api/v1/shows/{show_id}/pin", summary="Unpin the current product",
            response=LineupOut, auth="staff", scope="shows:control",
            errors=(*_FOUND, "show_closed"))
async def unpin_product(request: web.Request) -> web.Response:
    show = await request.app[SHOWS].pin(principal_of(request), show_id_of(request), None)
    return json_response(await lineup_out(request, show))


@ops.post("/api/v1/shows/{show_id}/highlights", summary="Highlight a lineup product (max 3)",
          body=ProductRef, response=LineupOut, auth="staff", scope="shows:control",
          errors=(*_FOUND, "not_in_lineup", "too_many_highlights", "show_closed"))
async def highlight_product(request: web.Request) -> web.Response:
    show_id = show_id_of(request)
    body = await read_json(request, ProductRef)
    show = await request.app[SHOWS].highlight(
        principal_of(request), show_id, body.product_id, True)
    return json_response(await lineup_out(request, show))


@ops.delete("/api/v1/shows/{show_id}/highlights/{product_id}",
            summary="Remove a highlight", response=LineupOut, auth="staff",
            scope="shows:control", errors=(*_FOUND, "not_in_lineup", "show_closed"))
async def unhighlight_product(request: web.Request) -> web.Response:
    show_id, product_id = show_id_of(request), product_id_of(request)
    show = await request.app[SHOWS].highlight(principal_of(request), show_id, product_id, False)
    return json_response(await lineup_out(request, show))
