"""Console login: success, failure, lock-out (HTTP and with an injected clock), logout."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from yarl import URL

from server.auth.middleware import SESSION_COOKIE
from server.auth.service import SYSTEM, AuthService
from server.db import make_sessions
from server.errors import RateLimited, Unauthorized
from server.settings import Settings
from tests.conftest import PASSWORD, Node, StartNode, create_staff, login


async def _login_csrf(node: Node) -> str:
    async with node.http.get("/login") as resp:
        assert resp.status == 200
    return node.http.cookie_jar.filter_cookies(URL(node.url + "/login"))["onair_login_csrf"].value


async def _submit(node: Node, username: str, password: str) -> tuple[int, str, dict[str, str]]:
    csrf = await _login_csrf(node)
    async with node.http.post("/login", data={
        "username": username, "password": password, "csrf_token": csrf, "next": "/console",
    }, headers={"Accept-Language": "en"}, allow_redirects=False) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


def _session_cookie(node: Node) -> str | None:
    cookie = node.http.cookie_jar.filter_cookies(URL(node.url)).get(SESSION_COOKIE)
    return cookie.value if cookie is not None else None


async def test_login_success_sets_session_and_redirects(node: Node) -> None:
    username, password = await create_staff(node.app, "host")
    status, _body, headers = await _submit(node, username, password)
    assert status == 303
    assert headers["Location"] == "/console"
    set_cookie = headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie
    assert "SameSite=Lax" in set_cookie
    assert _session_cookie(node)
    async with node.http.get("/console") as resp:
        assert resp.status == 200
        assert username in await resp.text()


async def test_login_failure_is_401_page_with_message(node: Node) -> None:
    username, _password = await create_staff(node.app, "host")
    status, body, headers = await _submit(node, username, "not the password")
    assert status == 401
    assert headers["Content-Type"].startswith("text/html")
    assert "Wrong username or password." in body
    assert _session_cookie(node) is None
    async with node.http.get("/api/v1/me") as resp:
        assert resp.status == 401
        assert (await resp.json())["code"] == "login_required"


@pytest.mark.parametrize("known", [True, False], ids=["known-user", "unknown-user"])
async def test_lockout_after_max_failures(start_node: StartNode, db_url: str, known: bool) -> None:
    node = await start_node(database_url=db_url, login_max_failures=3, login_lockout_seconds=600)
    if known:
        username, password = await create_staff(node.app, "host")
    else:
        username, password = f"nobody-{secrets.token_hex(4)}", PASSWORD
    for _ in range(3):
        status, _body, _headers = await _submit(node, username, "wrong password!")
        assert status == 401
    # Locked now: even the right password is refused, and unknown names behave the same.
    status, body, headers = await _submit(node, username, password)
    assert status == 429
    assert "Too many failed attempts" in body
    assert 1 <= int(headers["Retry-After"]) <= 600
    assert _session_cookie(node) is None


async def test_lockout_is_per_username(start_node: StartNode, db_url: str) -> None:
    node = await start_node(database_url=db_url, login_max_failures=2)
    locked, _ = await create_staff(node.app, "host")
    other, password = await create_staff(node.app, "host")
    for _ in range(2):
        assert (await _submit(node, locked, "wrong password!"))[0] == 401
    assert (await _submit(node, locked, password))[0] == 429
    assert (await _submit(node, other, password))[0] == 303


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_lockout_expires_with_the_clock(
    engine: AsyncEngine, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(login_max_failures=2, login_lockout_seconds=300)
    clock = Clock()
    auth_with_clock = AuthService(make_sessions(engine), settings, clock=clock)
    username = f"clock-{secrets.token_hex(4)}"
    await auth_with_clock.create_user(SYSTEM, username, PASSWORD, "host")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            await auth_with_clock.login(username, "wrong password!")
    clock.now += timedelta(seconds=299)
    with pytest.raises(RateLimited) as locked:
        await auth_with_clock.login(username, PASSWORD)
    assert locked.value.code == "login_locked"
    assert 0 < locked.value.retry_after <= 1
    clock.now += timedelta(seconds=2)
    result = await auth_with_clock.login(username, PASSWORD)
    assert result.principal.name == username
    # A success clears the count: one new failure does not lock again.
    with pytest.raises(Unauthorized):
        await auth_with_clock.login(username, "wrong password!")
    assert (await auth_with_clock.login(username, PASSWORD)).principal.name == username


async def test_failures_outside_the_window_do_not_add_up(
    engine: AsyncEngine, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(login_max_failures=2, login_lockout_seconds=60)
    clock = Clock()
    auth = AuthService(make_sessions(engine), settings, clock=clock)
    username = f"window-{secrets.token_hex(4)}"
    await auth.create_user(SYSTEM, username, PASSWORD, "host")
    with pytest.raises(Unauthorized):
        await auth.login(username, "wrong password!")
    clock.now += timedelta(seconds=61)
    with pytest.raises(Unauthorized):
        await auth.login(username, "wrong password!")
    assert (await auth.login(username, PASSWORD)).principal.name == username


async def test_logout_invalidates_the_session(node: Node) -> None:
    csrf = await login(node, "host")
    cookie = _session_cookie(node)
    assert cookie is not None
    async with node.http.get("/api/v1/me") as resp:
        assert resp.status == 200
    async with node.http.post("/logout", data={"csrf_token": csrf},
                              allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/login"
    # The old cookie value no longer opens anything, even when replayed by hand.
    replay = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
    async with node.http.get("/api/v1/me", headers=replay) as resp:
        assert resp.status == 401
    async with node.http.get("/console", allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"].startswith("/login")
