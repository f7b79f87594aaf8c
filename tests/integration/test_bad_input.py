"""Bad input gets problem+json with a stable code, no traceback, and changes nothing."""

from __future__ import annotations

import secrets
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from server.app import create_app
from server.auth.tables import User
from server.keys import SESSIONS
from tests.conftest import PASSWORD, Node, StartNode, api_token, free_port

MAX_BODY = 4096


def no_traceback(text: str) -> None:
    assert "Traceback" not in text
    assert 'File "' not in text
    assert "server/" not in text


async def user_count(node: Node) -> int:
    async with node.app[SESSIONS]() as db:
        count = await db.scalar(select(func.count()).select_from(User))
    assert count is not None
    return count


def valid_user() -> dict[str, Any]:
    return {"username": f"bad-{secrets.token_hex(4)}", "password": PASSWORD, "role": "host"}


@pytest.fixture
async def small_node(start_node: StartNode, db_url: str) -> Node:
    return await start_node(database_url=db_url, max_body_bytes=MAX_BODY)


@pytest.mark.parametrize(("body", "content_type", "status", "code"), [
    (b'{"username": "a", "password":', "application/json", 400, "invalid_json"),
    (b'{"username": NaN}', "application/json", 400, "invalid_json"),
    (b"\xff\xfe\x00", "application/json", 400, "invalid_json"),
    (b"", "application/json", 422, "validation_failed"),
    (b"[1, 2]", "application/json", 422, "validation_failed"),
    (b'{"username": 5, "password": ["x"], "role": null}', "application/json", 422,
     "validation_failed"),
    (b'{"username": "ok-name", "password": "long enough pw", "role": "host", "admin": true}',
     "application/json", 422, "validation_failed"),
    (b'{"username": "' + b"a" * 200 + b'", "password": "long enough pw", "role": "host"}',
     "application/json", 422, "validation_failed"),
    (b"username=x&password=y", "application/x-www-form-urlencoded", 415,
     "unsupported_media_type"),
    (b'{"username": "x"}', "text/plain", 415, "unsupported_media_type"),
], ids=["truncated", "nan", "not-utf8", "empty", "array", "wrong-types", "unknown-field",
        "too-long", "form", "text-plain"])
async def test_bad_bodies_are_problems_and_write_nothing(
    small_node: Node, body: bytes, content_type: str, status: int, code: str
) -> None:
    token = await api_token(small_node.app, "users:admin")
    before = await user_count(small_node)
    async with small_node.http.post("/api/v1/users", data=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": content_type,
    }) as resp:
        text = await resp.text()
        assert resp.status == status, text
        assert resp.content_type == "application/problem+json"
        problem = await resp.json()
    assert problem["code"] == code
    assert problem["status"] == status
    no_traceback(text)
    assert await user_count(small_node) == before


async def test_validation_errors_name_fields_without_echoing_input(small_node: Node) -> None:
    token = await api_token(small_node.app, "users:admin")
    secret_value = "hunter2-" + secrets.token_hex(8)
    async with small_node.http.post("/api/v1/users", headers={
        "Authorization": f"Bearer {token}",
    }, json={"username": 5, "password": secret_value, "role": "host", "extra": secret_value}) as r:
        assert r.status == 422
        text = await r.text()
        problem = await r.json()
    assert secret_value not in text
    locations = {tuple(err["loc"]) for err in problem["errors"]}
    assert ("username",) in locations
    assert ("extra",) in locations


async def test_oversized_body_is_413_and_writes_nothing(small_node: Node) -> None:
    token = await api_token(small_node.app, "users:admin")
    before = await user_count(small_node)
    body = valid_user()
    body["display_name"] = "x" * (MAX_BODY * 2)
    async with small_node.http.post("/api/v1/users", json=body,
                                    headers={"Authorization": f"Bearer {token}"}) as resp:
        text = await resp.text()
        assert resp.status == 413
        assert resp.content_type == "application/problem+json"
        assert (await resp.json())["code"] == "payload_too_large"
    no_traceback(text)
    assert await user_count(small_node) == before
    # The same request under the limit goes through, so the limit and nothing else refused it.
    async with small_node.http.post("/api/v1/users", json=valid_user(),
                                    headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 201
    assert await user_count(small_node) == before + 1


async def test_unknown_api_path_and_method_are_problems(small_node: Node) -> None:
    async with small_node.http.get("/api/v1/no-such-thing") as resp:
        assert resp.status == 404
        assert resp.content_type == "application/problem+json"
        assert (await resp.json())["code"] == "not_found"
    async with small_node.http.put("/api/v1/users", json={}) as resp:
        assert resp.status == 405
        assert (await resp.json())["code"] == "method_not_allowed"
        assert "POST" in resp.headers["Allow"]


async def test_unexpected_errors_show_no_traceback(make_settings: Any) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals /srv/onair/server/x.py")

    app = create_app(make_settings())
    app.router.add_get("/api/v1/boom", boom)
    app.router.add_get("/boom", boom)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            async with http.get("/api/v1/boom") as resp:
                assert resp.status == 500
                text = await resp.text()
                assert (await resp.json())["code"] == "internal_error"
            no_traceback(text)
            assert "secret internals" not in text
            async with http.get("/boom", headers={"Accept": "text/html"}) as resp:
                assert resp.status == 500
                assert resp.content_type == "text/html"
                page = await resp.text()
            no_traceback(page)
            assert "secret internals" not in page
            assert 'data-code="internal_error"' in page
    finally:
        await runner.cleanup()
