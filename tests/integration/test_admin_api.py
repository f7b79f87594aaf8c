"""Admin API: users and tokens, scopes enforced in the service, revoked and unknown tokens."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlalchemy import func, select

from server.auth.domain import ANONYMOUS, staff_principal, token_principal
from server.auth.tables import User
from server.errors import Forbidden, Unauthorized
from server.keys import AUTH, SESSIONS
from tests.conftest import PASSWORD, Node, api_token, login


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_user(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "username": f"u-{secrets.token_hex(4)}", "password": PASSWORD, "role": "moderator",
    }
    body.update(changes)
    return body


async def user_count(node: Node) -> int:
    async with node.app[SESSIONS]() as db:
        count = await db.scalar(select(func.count()).select_from(User))
    assert count is not None
    return count


async def test_admin_creates_and_lists_users(node: Node) -> None:
    token = await api_token(node.app, "users:admin")
    body = new_user(display_name="야간 모더레이터")
    async with node.http.post("/api/v1/users", json=body, headers=bearer(token)) as resp:
        assert resp.status == 201, await resp.text()
        created = await resp.json()
    assert created["username"] == body["username"]
    assert created["role"] == "moderator"
    assert created["display_name"] == "야간 모더레이터"
    assert "password" not in created
    assert "password_hash" not in created

    found = False
    after = 0
    # Walk the pages: the shared PostgreSQL database holds other tests' users too.
    while True:
        async with node.http.get("/api/v1/users", params={"after": after, "limit": 50},
                                 headers=bearer(token)) as resp:
            assert resp.status == 200
            page = await resp.json()
        ids = [u["id"] for u in page["items"]]
        assert ids == sorted(ids)
        assert all(i > after for i in ids)
        found = found or body["username"] in {u["username"] for u in page["items"]}
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert found

    # The new user can sign in with the password the admin chose.
    result = await node.app[AUTH].login(body["username"], PASSWORD)
    assert result.principal.roles == ("moderator",)


async def test_user_list_pages_by_limit(node: Node) -> None:
    token = await api_token(node.app, "users:admin")
    for _ in range(3):
        async with node.http.post("/api/v1/users", json=new_user(), headers=bearer(token)) as r:
            assert r.status == 201
    async with node.http.get("/api/v1/users", params={"limit": 2},
                             headers=bearer(token)) as resp:
        page = await resp.json()
    assert len(page["items"]) == 2
    assert page["next_after"] == page["items"][-1]["id"]
    async with node.http.get("/api/v1/users", params={"limit": 0},
                             headers=bearer(token)) as resp:
        assert resp.status == 422
        assert (await resp.json())["code"] == "validation_failed"


@pytest.mark.parametrize(("changes", "status", "code"), [
    ({"username": "Not Valid!"}, 422, "invalid_username"),
    ({"password": "short"}, 422, "weak_password"),
    ({"role": "owner"}, 422, "invalid_role"),
], ids=["username", "password", "role"])
async def test_user_creation_errors(
    node: Node, changes: dict[str, Any], status: int, code: str
) -> None:
    token = await api_token(node.app, "users:admin")
    before = await user_count(node)
    async with node.http.post("/api/v1/users", json=new_user(**changes),
                              headers=bearer(token)) as resp:
        assert resp.status == status
        assert resp.content_type == "application/problem+json"
        assert (await resp.json())["code"] == code
    assert await user_count(node) == before


async def test_username_taken_is_409(node: Node) -> None:
    token = await api_token(node.app, "users:admin")
    body = new_user()
    async with node.http.post("/api/v1/users", json=body, headers=bearer(token)) as resp:
        assert resp.status == 201
    again = dict(body, username=body["username"].upper())
    async with node.http.post("/api/v1/users", json=again, headers=bearer(token)) as resp:
        assert resp.status == 409
        assert (await resp.json())["code"] == "username_taken"


async def test_token_lifecycle_create_list_revoke(node: Node) -> None:
    admin = await api_token(node.app, "users:admin")
    name = f"erp-{secrets.token_hex(3)}"
    async with node.http.post("/api/v1/tokens", headers=bearer(admin), json={
        "name": name, "scopes": ["orders:read", "catalog:write"], "expires_days": 30,
    }) as resp:
        assert resp.status == 201
        assert resp.headers["Cache-Control"] == "no-store"
        created = await resp.json()
    secret = created["token"]
    assert created["scopes"] == ["catalog:write", "orders:read"]
    assert secret.startswith(created["prefix"])
    assert created["expires_at"] is not None

    async with node.http.get("/api/v1/me", headers=bearer(secret)) as resp:
        assert resp.status == 200
        assert (await resp.json())["permissions"] == ["catalog:write", "orders:read"]

    async with node.http.get("/api/v1/tokens", params={"after": created["id"] - 1, "limit": 1},
                             headers=bearer(admin)) as resp:
        assert resp.status == 200
        text = await resp.text()
    assert secret not in text
    listed = (await resp.json())["items"][0]
    assert listed["id"] == created["id"]
    assert listed["name"] == name
    assert "token" not in listed
    assert listed["revoked_at"] is None

    async with node.http.delete(f"/api/v1/tokens/{created['id']}", headers=bearer(admin)) as r:
        assert r.status == 204
    async with node.http.get("/api/v1/me", headers=bearer(secret)) as resp:
        assert resp.status == 401
        assert (await resp.json())["code"] == "token_revoked"
    async with node.http.get("/api/v1/tokens", params={"after": created["id"] - 1, "limit": 1},
                             headers=bearer(admin)) as resp:
        assert (await resp.json())["items"][0]["revoked_at"] is not None


async def test_revoking_an_unknown_token_is_404(node: Node) -> None:
    admin = await api_token(node.app, "users:admin")
    for ident in ("999999999", "abc"):
        async with node.http.delete(f"/api/v1/tokens/{ident}", headers=bearer(admin)) as resp:
            assert resp.status == 404
            assert (await resp.json())["code"] == "token_not_found"


async def test_token_scope_denied_is_403_and_writes_nothing(node: Node) -> None:
    reader = await api_token(node.app, "shows:read")
    before = await user_count(node)
    async with node.http.post("/api/v1/users", json=new_user(), headers=bearer(reader)) as resp:
        assert resp.status == 403
        problem = await resp.json()
    assert problem["code"] == "permission_denied"
    assert problem["permission"] == "users:admin"
    assert await user_count(node) == before
    for path in ("/api/v1/users", "/api/v1/tokens"):
        async with node.http.get(path, headers=bearer(reader)) as resp:
            assert resp.status == 403


async def test_host_session_cannot_administer(node: Node) -> None:
    csrf = await login(node, "host")
    async with node.http.post("/api/v1/tokens", headers={"X-CSRF-Token": csrf},
                              json={"name": "mine", "scopes": ["users:admin"]}) as resp:
        assert resp.status == 403
        assert (await resp.json())["code"] == "permission_denied"


async def test_anonymous_admin_call_is_401(node: Node) -> None:
    async with node.http.get("/api/v1/users") as resp:
        assert resp.status == 401
        assert (await resp.json())["code"] == "login_required"


@pytest.mark.parametrize("token", [
    "onair_" + "x" * 43, "onair_", "not-a-token-at-all",
], ids=["unknown", "empty", "garbage"])
async def test_unknown_tokens_are_401(node: Node, token: str) -> None:
    async with node.http.get("/api/v1/me", headers=bearer(token)) as resp:
        assert resp.status == 401
        assert (await resp.json())["code"] == "token_invalid"


async def test_service_checks_permission_not_only_the_route(node: Node) -> None:
    auth = node.app[AUTH]
    host = staff_principal(1, "someone", "host")
    scoped = token_principal(1, "reader", frozenset({"shows:read"}))
    for actor in (host, scoped):
        with pytest.raises(Forbidden):
            await auth.list_users(actor)
        with pytest.raises(Forbidden):
            await auth.list_tokens(actor)
        with pytest.raises(Forbidden):
            await auth.create_user(actor, f"x-{secrets.token_hex(3)}", PASSWORD, "host")
        with pytest.raises(Forbidden):
            await auth.issue_token(actor, "t", ["shows:read"])
        with pytest.raises(Forbidden):
            await auth.revoke_token(actor, 1)
    with pytest.raises(Unauthorized):
        await auth.list_users(ANONYMOUS)
