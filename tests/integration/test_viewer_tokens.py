"""Viewer identities: guest tokens and shop-minted HS256 JWTs, and every way one is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from tests.conftest import Node

SHOP_SECRET = "shop-shared-secret-0123456789"  # make_settings' shop_jwt_secret


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def shop_jwt(claims: dict[str, Any], secret: str = SHOP_SECRET,
             header: dict[str, Any] | None = None) -> str:
    """Sign the way a shop's own JWT library would, independently of the server's code."""
    head = b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


async def me(node: Node, token: str) -> tuple[int, dict[str, Any]]:
    async with node.http.get("/api/v1/viewer/me",
                             headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json()


async def test_guest_token_works(node: Node) -> None:
    async with node.http.post("/api/v1/viewer/guest", json={"nickname": " 민지 "}) as resp:
        assert resp.status == 201
        guest = await resp.json()
    assert guest["viewer"]["name"] == "민지"
    assert guest["viewer"]["guest"] is True
    status, viewer = await me(node, guest["token"])
    assert status == 200
    assert viewer == guest["viewer"]
    assert viewer["id"].startswith("g_")
    assert viewer["tier"] is None


async def test_guest_nickname_rules(node: Node) -> None:
    async with node.http.post("/api/v1/viewer/guest", json={"nickname": "\u200b\n"}) as resp:
        assert resp.status == 422
        assert (await resp.json())["code"] == "invalid_nickname"


async def test_shop_token_gives_identity_and_tier(node: Node) -> None:
    token = shop_jwt({"sub": "cust-42", "name": "Kim VIP", "tier": "vip",
                      "exp": int(time.time()) + 600})
    status, viewer = await me(node, token)
    assert status == 200
    assert viewer == {"id": "s_cust-42", "name": "Kim VIP", "tier": "vip", "guest": False}


async def test_expired_shop_token_is_401_token_expired(node: Node) -> None:
    token = shop_jwt({"sub": "cust-1", "name": "Kim", "tier": "vip",
                      "exp": int(time.time()) - 3600})
    status, problem = await me(node, token)
    assert status == 401
    assert problem["code"] == "token_expired"


def _tampered() -> str:
    head, _body, sig = shop_jwt({"sub": "cust-1", "name": "Kim", "tier": "basic",
                                 "exp": int(time.time()) + 600}).split(".")
    forged = b64(json.dumps({"sub": "cust-1", "name": "Kim", "tier": "vip",
                             "exp": int(time.time()) + 600}).encode())
    return f"{head}.{forged}.{sig}"


def _alg_none() -> str:
    head = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": "cust-1", "name": "Kim", "tier": "vip",
                           "exp": int(time.time()) + 600}).encode())
    return f"{head}.{body}."


def _wrong_secret() -> str:
    return shop_jwt({"sub": "c", "name": "Kim", "exp": int(time.time()) + 600},
                    secret="not-the-shop-secret-at-all")


def _bad_claims() -> str:
    return shop_jwt({"sub": 42, "name": "Kim", "exp": int(time.time()) + 600})


def _no_exp() -> str:
    return shop_jwt({"sub": "c", "name": "Kim"})


@pytest.mark.parametrize("make", [
    _tampered, _alg_none, _wrong_secret, _bad_claims, _no_exp,
    lambda: "garbage", lambda: "a.b.c", lambda: "x" * 5000,
], ids=["tampered", "alg-none", "wrong-secret", "sub-not-string", "no-exp", "garbage",
        "three-parts-garbage", "oversized"])
async def test_bad_viewer_tokens_are_401_token_invalid(node: Node, make: Any) -> None:
    status, problem = await me(node, make())
    assert status == 401
    assert problem["code"] == "token_invalid"


async def test_viewer_token_cannot_reach_staff_api(node: Node) -> None:
    token = shop_jwt({"sub": "c", "name": "Kim", "exp": int(time.time()) + 600})
    async with node.http.get("/api/v1/users",
                             headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 403
        assert (await resp.json())["code"] == "permission_denied"


async def test_staff_without_viewer_token_gets_viewer_token_required(node: Node) -> None:
    async with node.http.get("/api/v1/viewer/me") as resp:
        assert resp.status == 401
        assert (await resp.json())["code"] == "viewer_token_required"
