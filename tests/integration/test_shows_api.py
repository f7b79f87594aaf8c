"""/api/v1/shows on SQLite and PostgreSQL: CRUD, lifecycle, lineup, pin, errors, pages."""

from __future__ import annotations

import secrets
from typing import Any

from tests.conftest import Node, api_token, login
from tests.integration.realtime_support import Client, guest_token

ALL_SCOPES = ("shows:read", "shows:write", "shows:control", "catalog:read", "catalog:write")


async def call(node: Node, method: str, path: str, body: Any = None, *,
               token: str | None = None, csrf: str | None = None,
               raw: bytes | None = None) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if csrf:
        headers["X-CSRF-Token"] = csrf
    kwargs: dict[str, Any] = {"headers": headers}
    if raw is not None:
        headers["Content-Type"] = "application/json"
        kwargs["data"] = raw
    elif body is not None:
        kwargs["json"] = body
    async with node.http.request(method, path, **kwargs) as resp:
        data = await resp.json(content_type=None) if resp.content_length != 0 else None
        return resp.status, data


async def make_product(node: Node, token: str, stock: int = 10, **extra: Any) -> dict[str, Any]:
    body = {"sku": "SKU-" + secrets.token_hex(4), "name": "캐시미어 니트", "price": 59000,
            "stock": stock, **extra}
    status, product = await call(node, "POST", "/api/v1/products", body, token=token)
    assert status == 201, product
    return product  # type: ignore[no-any-return]


async def make_show(node: Node, token: str, **extra: Any) -> dict[str, Any]:
    status, show = await call(node, "POST", "/api/v1/shows",
                              {"title": "겨울 니트 라이브", **extra}, token=token)
    assert status == 201, show
    return show  # type: ignore[no-any-return]


async def test_create_list_get_patch(node: Node) -> None:
    csrf = await login(node, "host")
    status, show = await call(node, "POST", "/api/v1/shows", {
        "title": "  겨울   니트 라이브 ", "description": "따뜻한 니트",
        "cover_url": "https://cdn.example/cover.jpg",
    }, csrf=csrf)
    assert status == 201, show
    assert show["title"] == "겨울 니트 라이브"
    assert show["status"] == "draft"
    assert show["time_zone"] == "Asia/Seoul"
    assert show["stream_key"].startswith("sk_")
    assert next(h["username"] for h in show["hosts"]).startswith("host-")
    assert show["product_ids"] == []
    assert show["pinned_product_id"] is None

    status, got = await call(node, "GET", f"/api/v1/shows/{show['id']}")
    assert status == 200
    assert got == show

    status, patched = await call(node, "PATCH", f"/api/v1/shows/{show['id']}", {
        "title": "새 제목", "scheduled_at": "2026-12-01T20:00:00+09:00", "time_zone": "UTC",
    }, csrf=csrf)
    assert status == 200, patched
    assert patched["title"] == "새 제목"
    assert patched["scheduled_at"] == "2026-12-01T11:00:00Z"
    assert patched["time_zone"] == "UTC"

    status, listed = await call(node, "GET", "/api/v1/shows?status=draft&limit=200")
    assert status == 200
    assert show["id"] in [s["id"] for s in listed]
    assert all(s["status"] == "draft" for s in listed)
    status, live = await call(node, "GET", "/api/v1/shows?status=live&limit=200")
    assert status == 200
    assert show["id"] not in [s["id"] for s in live]


async def test_lifecycle_and_invalid_transitions(node: Node) -> None:
    token = await api_token(node.app, *ALL_SCOPES)
    show = await make_show(node, token)
    path = f"/api/v1/shows/{show['id']}"
    status, body = await call(node, "POST", path + "/schedule", token=token)
    assert (status, body["code"]) == (409, "scheduled_start_required")
    status, body = await call(node, "POST", path + "/end", token=token)
    assert (status, body["code"]) == (409, "invalid_transition")
    assert (await call(node, "PATCH", path, {"scheduled_at": "2026-12-01T11:00:00Z"},
                       token=token))[0] == 200
    for action, expected in (("schedule", "scheduled"), ("rehearse", "rehearsal"),
                             ("go-live", "live")):
        status, body = await call(node, "POST", f"{path}/{action}", token=token)
        assert status == 200, body
        assert body["status"] == expected
    assert body["started_at"] is not None
    assert body["ended_at"] is None
    status, body = await call(node, "POST", path + "/cancel", token=token)
    assert (status, body["code"]) == (409, "invalid_transition")
    status, body = await call(node, "POST", path + "/end", token=token)
    assert status == 200
    assert body["status"] == "ended"
    assert body["ended_at"] is not None
    for action in ("schedule", "rehearse", "go-live", "end", "cancel"):
        status, body = await call(node, "POST", f"{path}/{action}", token=token)
        assert (status, body["code"]) == (409, "invalid_transition"), action
    status, body = await call(node, "PATCH", path, {"title": "late"}, token=token)
    assert (status, body["code"]) == (409, "show_closed")

    other = await make_show(node, token)
    status, body = await call(node, "POST", f"/api/v1/shows/{other['id']}/cancel", token=token)
    assert status == 200
    assert body["status"] == "cancelled"


async def test_lineup_pin_and_highlights(node: Node) -> None:
    token = await api_token(node.app, *ALL_SCOPES)
    show = await make_show(node, token)
    products = [await make_product(node, token, stock=5 + i) for i in range(5)]
    ids = [p["id"] for p in products]
    lineup_path = f"/api/v1/shows/{show['id']}/lineup"
    for pid in ids:
        status, lineup = await call(node, "POST", lineup_path, {"product_id": pid}, token=token)
        assert status == 201, lineup
    assert [item["id"] for item in lineup["items"]] == ids
    assert lineup["items"][0]["stock"] == 5
    assert lineup["items"][0]["price"] == 59000

    status, body = await call(node, "POST", lineup_path, {"product_id": ids[0]}, token=token)
    assert (status, body["code"]) == (409, "already_in_lineup")
    status, body = await call(node, "POST", lineup_path, {"product_id": 2**31 - 1}, token=token)
    assert (status, body["code"]) == (404, "product_not_found")

    status, lineup = await call(node, "PUT", lineup_path, {"product_ids": ids[::-1]},
                                token=token)
    assert status == 200
    assert [i["id"] for i in lineup["items"]] == ids[::-1]
    status, body = await call(node, "PUT", lineup_path, {"product_ids": ids[:2]}, token=token)
    assert (status, body["code"]) == (409, "lineup_mismatch")

    pin = f"/api/v1/shows/{show['id']}/pin"
    status, lineup = await call(node, "POST", pin, {"product_id": ids[1]}, token=token)
    assert status == 200
    assert lineup["pinned_product_id"] == ids[1]
    status, lineup = await call(node, "POST", pin, {"product_id": ids[2]}, token=token)
    assert lineup["pinned_product_id"] == ids[2]
    assert [i["id"] for i in lineup["items"] if i["pinned"]] == [ids[2]]
    outsider = await make_product(node, token)
    status, body = await call(node, "POST", pin, {"product_id": outsider["id"]}, token=token)
    assert (status, body["code"]) == (409, "not_in_lineup")

    highlights = f"/api/v1/shows/{show['id']}/highlights"
    for pid in ids[:3]:
        status, lineup = await call(node, "POST", highlights, {"product_id": pid}, token=token)
        assert status == 200, lineup
    status, body = await call(node, "POST", highlights, {"product_id": ids[3]}, token=token)
    assert (status, body["code"]) == (409, "too_many_highlights")
    status, lineup = await call(node, "DELETE", f"{highlights}/{ids[0]}", token=token)
    assert status == 200
    assert sorted(lineup["highlighted"]) == sorted(ids[1:3])

    status, lineup = await call(node, "DELETE", pin, token=token)
    assert status == 200
    assert lineup["pinned_product_id"] is None
    status, lineup = await call(node, "DELETE", f"{lineup_path}/{ids[4]}", token=token)
    assert status == 200
    assert ids[4] not in [i["id"] for i in lineup["items"]]
    status, body = await call(node, "DELETE", f"{lineup_path}/{ids[4]}", token=token)
    assert (status, body["code"]) == (409, "not_in_lineup")
    status, got = await call(node, "GET", f"/api/v1/shows/{show['id']}", token=token)
    assert got["product_ids"] == [ids[3], ids[2], ids[1], ids[0]]


async def test_permissions(node: Node) -> None:
    csrf = await login(node, "moderator")
    status, body = await call(node, "POST", "/api/v1/shows", {"title": "nope"}, csrf=csrf)
    assert (status, body["code"]) == (403, "permission_denied")
    admin = await api_token(node.app, *ALL_SCOPES)
    show = await make_show(node, admin)
    status, got = await call(node, "GET", f"/api/v1/shows/{show['id']}", csrf=csrf)
    assert status == 200
    assert got["stream_key"] is None
    status, body = await call(node, "POST", f"/api/v1/shows/{show['id']}/rehearse", csrf=csrf)
    assert (status, body["code"]) == (403, "permission_denied")
    writer = await api_token(node.app, "shows:read", "shows:write")
    status, body = await call(node, "POST", f"/api/v1/shows/{show['id']}/pin",
                              {"product_id": 1}, token=writer)
    assert (status, body["code"]) == (403, "permission_denied")
    node.http.cookie_jar.clear()
    status, body = await call(node, "GET", "/api/v1/shows")
    assert (status, body["code"]) == (401, "login_required")


async def test_csrf_required_for_cookie_sessions(node: Node) -> None:
    await login(node, "host")
    status, body = await call(node, "POST", "/api/v1/shows", {"title": "x"})
    assert (status, body["code"]) == (403, "csrf_failed")


async def test_not_found_and_bad_input(node: Node) -> None:
    token = await api_token(node.app, *ALL_SCOPES)
    for path in ("/api/v1/shows/999999999", "/api/v1/shows/abc", "/api/v1/shows/-1",
                 "/api/v1/shows/99999999999999999999/lineup"):
        status, body = await call(node, "GET", path, token=token)
        assert (status, body["code"]) == (404, "show_not_found"), path
    status, body = await call(node, "POST", "/api/v1/shows/999999999/go-live", token=token)
    assert (status, body["code"]) == (404, "show_not_found")
    status, body = await call(node, "POST", "/api/v1/shows", raw=b"{not json", token=token)
    assert (status, body["code"]) == (400, "invalid_json")
    for bad in ({"title": ""}, {"title": "x" * 121}, {"title": "x", "extra": 1},
                {"title": "x", "scheduled_at": "2026-12-01T20:00:00"},
                {"title": "x", "hosts": ["a"] * 6}, [], "x"):
        status, body = await call(node, "POST", "/api/v1/shows", bad, token=token)
        assert (status, body["code"]) == (422, "validation_failed"), bad
    status, body = await call(node, "POST", "/api/v1/shows", {"title": "x", "time_zone": "Mars/X"},
                              token=token)
    assert (status, body["code"]) == (422, "invalid_time_zone")
    status, body = await call(node, "POST", "/api/v1/shows",
                              {"title": "x", "cover_url": "javascript:alert(1)"}, token=token)
    assert (status, body["code"]) == (422, "invalid_cover_url")
    status, body = await call(node, "POST", "/api/v1/shows", {"title": "x", "hosts": ["ghost"]},
                              token=token)
    assert (status, body["code"]) == (422, "unknown_host")
    status, body = await call(node, "GET", "/api/v1/shows?status=paused", token=token)
    assert (status, body["code"]) == (422, "validation_failed")
    show = await make_show(node, token)
    status, body = await call(node, "POST", f"/api/v1/shows/{show['id']}/pin",
                              {"product_id": "1"}, token=token)
    assert (status, body["code"]) == (422, "validation_failed")


async def test_stream_key_regenerates(node: Node) -> None:
    token = await api_token(node.app, *ALL_SCOPES)
    show = await make_show(node, token)
    status, again = await call(node, "POST", f"/api/v1/shows/{show['id']}/stream-key",
                               token=token)
    assert status == 200
    assert again["stream_key"] != show["stream_key"]
    assert again["stream_key"].startswith("sk_")


async def test_openapi_lists_the_operations(node: Node) -> None:
    status, doc = await call(node, "GET", "/api/openapi.json")
    assert status == 200
    paths = doc["paths"]
    expected = {
        "/api/v1/shows": {"get", "post"},
        "/api/v1/shows/{show_id}": {"get", "patch"},
        "/api/v1/shows/{show_id}/lineup": {"get", "post", "put"},
        "/api/v1/shows/{show_id}/lineup/{product_id}": {"delete"},
        "/api/v1/shows/{show_id}/pin": {"post", "delete"},
        "/api/v1/shows/{show_id}/highlights": {"post"},
        "/api/v1/shows/{show_id}/highlights/{product_id}": {"delete"},
        "/api/v1/shows/{show_id}/stream-key": {"post"},
        "/api/v1/products": {"get", "post"},
        "/api/v1/products/{product_id}": {"get", "patch"},
    }
    for action in ("schedule", "rehearse", "go-live", "end", "cancel"):
        expected[f"/api/v1/shows/{{show_id}}/{action}"] = {"post"}
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
    assert paths["/api/v1/shows/{show_id}/go-live"]["post"]["x-required-scope"] == "shows:control"
    assert "ShowIn" in doc["components"]["schemas"]


async def test_pin_reaches_a_joined_viewer(node: Node) -> None:
    token = await api_token(node.app, *ALL_SCOPES)
    show = await make_show(node, token)
    product = await make_product(node, token, stock=7, image_url="/static/img/knit.jpg")
    await call(node, "POST", f"/api/v1/shows/{show['id']}/lineup", {"product_id": product["id"]},
               token=token)
    status, _ = await call(node, "POST", f"/api/v1/shows/{show['id']}/rehearse", token=token)
    assert status == 200
    viewer = await Client("/live").connect(node.url, auth={"token": guest_token(node.app)})
    try:
        ack = await viewer.join(show["id"])
        assert ack["ok"] is True, ack
        assert ack["state"]["show"]["status"] == "rehearsal"
        assert ack["state"]["pinned"] is None
        assert [p["id"] for p in ack["state"]["lineup"]] == [product["id"]]
        assert "stream_key" not in ack["state"]["show"]

        status, _ = await call(node, "POST", f"/api/v1/shows/{show['id']}/pin",
                               {"product_id": product["id"]}, token=token)
        assert status == 200
        await viewer.wait_until(lambda: bool(viewer.named("pinned")))
        pinned = viewer.named("pinned")[0]
        assert isinstance(pinned.pop("id"), int)
        assert pinned == {"product": {
            "id": product["id"], "sku": product["sku"], "name": "캐시미어 니트",
            "price": 59000, "image_url": "/static/img/knit.jpg", "stock": 7,
        }}

        status, _ = await call(node, "PATCH", f"/api/v1/products/{product['id']}", {"stock": 3},
                               token=token)
        assert status == 200
        await viewer.wait_until(lambda: {str(product["id"]): 3} in viewer.named("stock"))

        status, _ = await call(node, "POST", f"/api/v1/shows/{show['id']}/go-live", token=token)
        await viewer.wait_until(lambda: any(
            e["show"]["status"] == "live" for e in viewer.named("show")))
    finally:
        await viewer.sio.disconnect()


async def test_viewers_cannot_join_drafts_or_unknown_shows(node: Node) -> None:
    token = await api_token(node.app, *ALL_SCOPES)
    draft = await make_show(node, token)
    viewer = await Client("/live").connect(node.url, auth={"token": guest_token(node.app)})
    try:
        for show_id in (draft["id"], 2**31 - 1):
            ack = await viewer.join(show_id)
            assert (ack["ok"], ack["error"]) == (False, "show_not_found"), ack
    finally:
        await viewer.sio.disconnect()
    staff = await Client("/console").connect(node.url, auth={"token": token})
    try:
        ack = await staff.join(draft["id"])
        assert ack["ok"] is True
        assert ack["state"]["show"]["status"] == "draft"
    finally:
        await staff.sio.disconnect()


async def test_pages(node: Node) -> None:
    token = await api_token(node.app, *ALL_SCOPES)
    live = await make_show(node, token, title="<script>alert(1)</script> 라이브")
    await call(node, "POST", f"/api/v1/shows/{live['id']}/go-live", token=token)
    await call(node, "POST", f"/api/v1/shows/{live['id']}/rehearse", token=token)
    await call(node, "POST", f"/api/v1/shows/{live['id']}/go-live", token=token)
    draft = await make_show(node, token, title="비공개 초안")
    async with node.http.get("/") as resp:
        assert resp.status == 200
        home = await resp.text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 라이브" in home
    assert "<script>alert(1)" not in home
    assert "비공개 초안" not in home
    async with node.http.get(f"/live/{live['id']}") as resp:
        assert resp.status == 200
        page = await resp.text()
    assert 'id="player"' in page
    assert 'id="pinned"' in page
    assert "/static/js/live.js" in page
    chat_slot = f'<section id="chat" class="chat" data-show-id="{live["id"]}" data-mode="viewer">'
    assert chat_slot in page
    assert live["stream_key"] not in page
    for path in (f"/live/{draft['id']}", "/live/nope", "/live/999999999"):
        async with node.http.get(path) as resp:
            assert resp.status == 404, path
    async with node.http.get(f"/console/shows/{live['id']}", allow_redirects=False) as resp:
        assert resp.status == 303

    csrf = await login(node, "host")
    async with node.http.get("/console") as resp:
        assert resp.status == 200
        console = await resp.text()
    assert f'/console/shows/{live["id"]}' in console
    assert 'id="create-show"' in console
    async with node.http.post("/console/shows", data={
        "csrf_token": csrf, "title": "폼으로 만든 방송", "description": "",
        "cover_url": "", "time_zone": "Asia/Seoul", "scheduled_at": "2026-12-24T20:00",
    }, allow_redirects=False) as resp:
        assert resp.status == 303
        room_url = resp.headers["Location"]
    show_id = int(room_url.rsplit("/", 1)[1])
    _status, created = await call(node, "GET", f"/api/v1/shows/{show_id}", token=token)
    assert created["scheduled_at"] == "2026-12-24T11:00:00Z"
    async with node.http.get(room_url) as resp:
        assert resp.status == 200
        room = await resp.text()
    assert created["stream_key"] in room
    assert 'id="preview"' in room
    assert "/static/js/console.js" in room
    assert 'data-action="go_live"' in room
    async with node.http.post("/console/shows", data={"csrf_token": csrf, "title": ""},
                              allow_redirects=False) as resp:
        assert resp.status == 422
        assert 'id="create-error"' in await resp.text()
    async with node.http.post("/console/shows", data={"title": "no csrf"},
                              allow_redirects=False) as resp:
        assert resp.status == 403


async def test_demo_seed_is_idempotent(node: Node) -> None:
    from server.demo import seed_demo

    first = await seed_demo(node.app)
    second = await seed_demo(node.app)
    assert second.created is False
    urls = dict(second.urls)
    assert urls["control"] == dict(first.urls)["control"]
    show_id = int(urls["viewer"].rsplit("/", 1)[1])
    token = await api_token(node.app, *ALL_SCOPES)
    status, show = await call(node, "GET", f"/api/v1/shows/{show_id}", token=token)
    assert status == 200
    assert show["status"] == "scheduled"
    assert len(show["product_ids"]) == 4
    async with node.http.get(f"/live/{show_id}") as resp:
        assert resp.status == 200
