"""CSRF: cookie sessions need the token on every state-changing request; bearer calls do not."""

from __future__ import annotations

import secrets

from yarl import URL

from server.auth.middleware import SESSION_COOKIE
from tests.conftest import Node, api_token, create_staff, login


def _body() -> dict[str, object]:
    return {"name": f"csrf-{secrets.token_hex(3)}", "scopes": ["shows:read"]}


async def test_api_post_without_csrf_header_is_403(node: Node) -> None:
    await login(node, "admin")
    async with node.http.post("/api/v1/tokens", json=_body()) as resp:
        assert resp.status == 403
        assert resp.content_type == "application/problem+json"
        assert (await resp.json())["code"] == "csrf_failed"


async def test_api_post_with_wrong_csrf_header_is_403(node: Node) -> None:
    csrf = await login(node, "admin")
    wrong = csrf[:-2] + ("AA" if not csrf.endswith("AA") else "BB")
    async with node.http.post("/api/v1/tokens", json=_body(),
                              headers={"X-CSRF-Token": wrong}) as resp:
        assert resp.status == 403
        assert (await resp.json())["code"] == "csrf_failed"


async def test_api_post_with_right_csrf_header_is_201(node: Node) -> None:
    csrf = await login(node, "admin")
    async with node.http.post("/api/v1/tokens", json=_body(),
                              headers={"X-CSRF-Token": csrf}) as resp:
        assert resp.status == 201, await resp.text()
        assert (await resp.json())["token"].startswith("onair_")


async def test_another_sessions_csrf_token_is_refused(node: Node) -> None:
    other_csrf = await login(node, "admin")
    node.http.cookie_jar.clear()
    await login(node, "admin")
    async with node.http.post("/api/v1/tokens", json=_body(),
                              headers={"X-CSRF-Token": other_csrf}) as resp:
        assert resp.status == 403


async def test_bearer_token_needs_no_csrf(node: Node) -> None:
    token = await api_token(node.app, "users:admin")
    async with node.http.post("/api/v1/tokens", json=_body(),
                              headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 201


async def test_logout_form_without_csrf_is_403_and_keeps_the_session(node: Node) -> None:
    await login(node, "host")
    async with node.http.post("/logout", data={}, allow_redirects=False) as resp:
        assert resp.status == 403
        assert "Traceback" not in await resp.text()
    async with node.http.get("/api/v1/me") as resp:
        assert resp.status == 200


async def test_logout_form_with_csrf_field_works(node: Node) -> None:
    csrf = await login(node, "host")
    async with node.http.post("/logout", data={"csrf_token": csrf},
                              allow_redirects=False) as resp:
        assert resp.status == 303


async def test_login_form_with_wrong_login_csrf_is_403(node: Node) -> None:
    username, password = await create_staff(node.app, "host")
    async with node.http.get("/login") as resp:
        assert resp.status == 200
    async with node.http.post("/login", data={
        "username": username, "password": password, "csrf_token": "forged-" + "x" * 20,
    }, headers={"Accept-Language": "en"}, allow_redirects=False) as resp:
        assert resp.status == 403
        assert "The form expired" in await resp.text()
    assert SESSION_COOKIE not in node.http.cookie_jar.filter_cookies(URL(node.url))


async def test_login_form_without_the_cookie_is_403(node: Node) -> None:
    username, password = await create_staff(node.app, "host")
    # The right-looking token, but no double-submit cookie to match it against.
    async with node.http.post("/login", data={
        "username": username, "password": password, "csrf_token": "x" * 32,
    }, allow_redirects=False) as resp:
        assert resp.status == 403
