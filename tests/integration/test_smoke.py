"""The server starts on each database and answers its ops endpoints."""

from tests.conftest import Node, login


async def test_health_and_ready(node: Node) -> None:
    async with node.http.get("/healthz") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok"}
    async with node.http.get("/readyz") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body == {"status": "ready", "checks": {"database": "ok", "redis": "not_configured"}}


async def test_login_then_me(node: Node) -> None:
    await login(node, "marketer")
    async with node.http.get("/api/v1/me") as resp:
        assert resp.status == 200
        me = await resp.json()
    assert me["kind"] == "staff"
    assert me["roles"] == ["marketer"]
    assert "coupons:write" in me["permissions"]
