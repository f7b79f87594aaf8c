"""Login and logout pages, the viewer identity endpoints and who-am-I."""

from __future__ import annotations

import hmac
import math
import secrets

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from server.api import Operations, json_response, read_json
from server.auth.middleware import SESSION_COOKIE, principal_of
from server.errors import DomainError, RateLimited
from server.i18n import translate
from server.keys import AUTH, NEXT_URL, SETTINGS
from server.pages import language_of, render

LOGIN_CSRF_COOKIE = "onair_login_csrf"
ops = Operations(tag="identity")


def safe_next(value: str | None, default: str = "/console") -> str:
    """Only same-site relative paths; anything else goes to the default."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    return value


def _secure(request: web.Request) -> bool:
    return request.app[SETTINGS].public_base_url.startswith("https://")


async def login_page(request: web.Request) -> web.Response:
    return _login_form(request, error="", status=200)


def _login_form(
    request: web.Request, *, error: str, status: int, username: str = ""
) -> web.Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {
        "error": error, "login_csrf": token, "username": username,
        "next_url": safe_next(request.query.get("next") or request.get(NEXT_URL)),
    }, status=status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=_secure(request),
        path="/login", max_age=3600,
    )
    return response


async def login_submit(request: web.Request) -> web.Response:
    form = await request.post()
    lang = language_of(request)
    sent = str(form.get("csrf_token", ""))
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    request[NEXT_URL] = str(form.get("next", ""))
    username = str(form.get("username", ""))[:80]
    if not sent or not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
        return _login_form(request, error=translate(lang, "login.expired"), status=403,
                           username=username)
    try:
        result = await request.app[AUTH].login(username, str(form.get("password", "")))
    except RateLimited as exc:
        minutes = max(1, math.ceil(exc.retry_after / 60))
        response = _login_form(request, error=translate(lang, "login.locked", minutes=minutes),
                               status=429, username=username)
        response.headers["Retry-After"] = str(math.ceil(exc.retry_after))
        return response
    except DomainError:
        return _login_form(request, error=translate(lang, "login.failed"), status=401,
                           username=username)
    response = web.HTTPSeeOther(safe_next(str(form.get("next", ""))))
    response.set_cookie(
        SESSION_COOKIE, result.session_token, httponly=True, samesite="Lax",
        secure=_secure(request), path="/",
        max_age=request.app[SETTINGS].session_days * 86400,
    )
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


async def logout(request: web.Request) -> web.Response:
    await request.app[AUTH].logout(request.cookies.get(SESSION_COOKIE))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def switch_language(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    target = safe_next(request.query.get("next"), default="/")
    response = web.HTTPSeeOther(target)
    if code in request.app[SETTINGS].languages:
        response.set_cookie("onair_lang", code, samesite="Lax", path="/", max_age=365 * 86400)
    raise response


class GuestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nickname: str = Field(min_length=1, max_length=24)


class ViewerOut(BaseModel):
    id: str
    name: str
    tier: str | None = None
    guest: bool


class GuestOut(BaseModel):
    token: str
    viewer: ViewerOut


class MeOut(BaseModel):
    kind: str
    id: str
    name: str
    roles: list[str]
    permissions: list[str]


@ops.post("/api/v1/viewer/guest", summary="Get a signed guest identity for a nickname",
          body=GuestIn, response=GuestOut, status=201, errors=("invalid_nickname",))
async def create_guest(request: web.Request) -> web.Response:
    body = await read_json(request, GuestIn)
    token, viewer = request.app[AUTH].issue_guest(body.nickname)
    out = GuestOut(token=token, viewer=ViewerOut(
        id=viewer.id, name=viewer.name, tier=viewer.tier, guest=viewer.guest))
    return json_response(out, status=201)


@ops.get("/api/v1/viewer/me", summary="The viewer behind a guest or shop token",
         response=ViewerOut, auth="viewer",
         errors=("viewer_token_required", "token_invalid", "token_expired"))
async def viewer_me(request: web.Request) -> web.Response:
    viewer = principal_of(request)
    viewer.require_viewer()
    return json_response(ViewerOut(id=viewer.id, name=viewer.name, tier=viewer.tier,
                                   guest=viewer.guest))


@ops.get("/api/v1/me", summary="The console user or API token making the call",
         response=MeOut, auth="staff", errors=("login_required",))
async def staff_me(request: web.Request) -> web.Response:
    who = principal_of(request)
    if not who.is_staff:
        who.require("shows:read")  # raises login_required / permission_denied
    return json_response(MeOut(kind=who.kind, id=who.id, name=who.name, roles=list(who.roles),
                               permissions=sorted(who.permissions)))


def setup(app: web.Application) -> None:
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_get("/lang/{code}", switch_language)
