"""Admin API: console users and API tokens; AuthService checks users:admin on every call."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from server.api import Operations, json_response, read_json, read_query
from server.auth.domain import SCOPES, Role
from server.auth.middleware import principal_of
from server.auth.service import MAX_PAGE, TokenInfo, UserInfo
from server.errors import NotFound
from server.keys import AUTH

ops = Operations(tag="admin")

ROLE_NAMES = ", ".join(r.value for r in Role)
# Typed as JSON values so pydantic's json_schema_extra accepts them.
ROLE_ENUM: list[JsonValue] = [r.value for r in Role]
SCOPE_NAMES: list[JsonValue] = list(sorted(SCOPES))


class PageQuery(BaseModel):
    """Keyset pagination: pass the previous page's `next_after` as `after`."""

    model_config = ConfigDict(extra="forbid")
    after: int = Field(0, ge=0, description="list items with an id greater than this")
    limit: int = Field(50, ge=1, le=MAX_PAGE)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Bounds here only cap the input; the username and password rules live in the domain
    # so the API and `onair user create` answer with the same codes.
    username: str = Field(min_length=1, max_length=80,
                          description="2-40 characters: a-z, 0-9, dot, dash, underscore")
    password: str = Field(min_length=1, max_length=256, description="at least 10 characters")
    role: str = Field(min_length=1, max_length=20, description=f"one of {ROLE_NAMES}",
                      json_schema_extra={"enum": ROLE_ENUM})
    display_name: str | None = Field(None, min_length=1, max_length=80)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    disabled: bool
    created_at: datetime | None
    last_login_at: datetime | None


class UserPage(BaseModel):
    items: list[UserOut]
    next_after: int | None = Field(description="pass as `after` for the next page; null at the end")


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80)
    scopes: list[str] = Field(
        min_length=1, max_length=len(SCOPES),
        json_schema_extra={"items": {"type": "string", "enum": SCOPE_NAMES}},
    )
    expires_days: int | None = Field(None, ge=1, le=3650)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="the first characters of the token, to recognise it")
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="the secret; shown only in this response")


class TokenPage(BaseModel):
    items: list[TokenOut]
    next_after: int | None


def _user_out(user: UserInfo) -> UserOut:
    return UserOut(
        id=user.id, username=user.username, display_name=user.display_name, role=user.role,
        disabled=user.disabled, created_at=user.created_at, last_login_at=user.last_login_at,
    )


def _token_fields(info: TokenInfo) -> dict[str, object]:
    return {
        "id": info.id, "name": info.name, "prefix": info.prefix, "scopes": list(info.scopes),
        "created_at": info.created_at, "expires_at": info.expires_at,
        "revoked_at": info.revoked_at, "last_used_at": info.last_used_at,
    }


def _next_after(ids: list[int], limit: int) -> int | None:
    return ids[-1] if len(ids) == limit else None


@ops.post("/api/v1/users", summary="Create a console user", body=UserIn, response=UserOut,
          status=201, auth="staff", scope="users:admin",
          errors=("permission_denied", "username_taken", "invalid_username", "weak_password",
                  "invalid_role"))
async def create_user(request: web.Request) -> web.Response:
    body = await read_json(request, UserIn)
    user = await request.app[AUTH].create_user(
        principal_of(request), body.username, body.password, body.role, body.display_name
    )
    return json_response(_user_out(user), status=201)


@ops.get("/api/v1/users", summary="List console users", response=UserPage, query=PageQuery,
         auth="staff", scope="users:admin", errors=("permission_denied",))
async def list_users(request: web.Request) -> web.Response:
    page = read_query(request, PageQuery)
    users = await request.app[AUTH].list_users(
        principal_of(request), after=page.after, limit=page.limit
    )
    return json_response(UserPage(
        items=[_user_out(u) for u in users],
        next_after=_next_after([u.id for u in users], page.limit),
    ))


@ops.post("/api/v1/tokens", summary="Mint an API token (the secret is returned once)",
          body=TokenIn, response=TokenCreated, status=201, auth="staff", scope="users:admin",
          errors=("permission_denied", "invalid_scope", "invalid_name"))
async def create_token(request: web.Request) -> web.Response:
    body = await read_json(request, TokenIn)
    token, info = await request.app[AUTH].issue_token(
        principal_of(request), body.name, body.scopes, body.expires_days
    )
    created = TokenCreated.model_validate({**_token_fields(info), "token": token})
    return json_response(created, status=201, headers={"Cache-Control": "no-store"})


@ops.get("/api/v1/tokens", summary="List API tokens (never their secrets)", response=TokenPage,
         query=PageQuery, auth="staff", scope="users:admin", errors=("permission_denied",))
async def list_tokens(request: web.Request) -> web.Response:
    page = read_query(request, PageQuery)
    tokens = await request.app[AUTH].list_tokens(
        principal_of(request), after=page.after, limit=page.limit
    )
    return json_response(TokenPage(
        items=[TokenOut.model_validate(_token_fields(t)) for t in tokens],
        next_after=_next_after([t.id for t in tokens], page.limit),
    ))


@ops.delete("/api/v1/tokens/{id}", summary="Revoke an API token", status=204, auth="staff",
            scope="users:admin", errors=("permission_denied", "token_not_found"))
async def revoke_token(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    # Only plain decimal ids; anything else cannot name a token.
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        principal_of(request).require("users:admin")
        raise NotFound("token_not_found", f"no API token {raw[:20]!r}")
    await request.app[AUTH].revoke_token(principal_of(request), int(raw))
    return web.Response(status=204)

