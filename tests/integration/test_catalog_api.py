"""/api/v1/products on SQLite and PostgreSQL: create, list, get, patch, errors, permissions."""

from __future__ import annotations

import secrets

from tests.conftest import Node, api_token, login
from tests.integration.test_shows_api import call


def sku() -> str:
    return "SKU-" + secrets.token_hex(4)


async def test_create_list_get_patch(node: Node) -> None:
    token = await api_token(node.app, "catalog:read", "catalog:write")
    code = sku()
    status, product = await call(node, "POST", "/api/v1/products", {
        "sku": code, "name": "램스울 머플러", "price": 29900, "stock": 60,
        "image_url": "https://cdn.example/muffler.jpg",
    }, token=token)
    assert status == 201, product
    assert {k: product[k] for k in ("sku", "name", "price", "stock", "image_url")} == {
        "sku": code, "name": "램스울 머플러", "price": 29900, "stock": 60,
        "image_url": "https://cdn.example/muffler.jpg",
    }
    status, got = await call(node, "GET", f"/api/v1/products/{product['id']}", token=token)
    assert status == 200
    assert got == product
    status, listed = await call(node, "GET", f"/api/v1/products?q={code.lower()}", token=token)
    assert status == 200
    assert [p["id"] for p in listed] == [product["id"]]
    status, patched = await call(node, "PATCH", f"/api/v1/products/{product['id']}",
                                 {"price": 0, "stock": 0, "name": "머플러"}, token=token)
    assert status == 200
    assert (patched["price"], patched["stock"], patched["name"]) == (0, 0, "머플러")
    assert patched["sku"] == code


async def test_errors(node: Node) -> None:
    token = await api_token(node.app, "catalog:read", "catalog:write")
    code = sku()
    body = {"sku": code, "name": "니트", "price": 1000}
    assert (await call(node, "POST", "/api/v1/products", body, token=token))[0] == 201
    status, problem = await call(node, "POST", "/api/v1/products", body, token=token)
    assert (status, problem["code"]) == (409, "sku_taken")
    status, other = await call(node, "POST", "/api/v1/products",
                               {**body, "sku": sku()}, token=token)
    status, problem = await call(node, "PATCH", f"/api/v1/products/{other['id']}",
                                 {"sku": code}, token=token)
    assert (status, problem["code"]) == (409, "sku_taken")
    for bad in ({**body, "price": -1}, {**body, "price": "1000"}, {**body, "price": 10.5},
                {**body, "stock": -3}, {**body, "sku": "has space"}, {**body, "name": ""},
                {**body, "colour": "red"}, {"sku": sku(), "name": "x"}):
        status, problem = await call(node, "POST", "/api/v1/products", bad, token=token)
        assert (status, problem["code"]) == (422, "validation_failed"), bad
    status, problem = await call(node, "POST", "/api/v1/products",
                                 {**body, "sku": sku(), "image_url": "javascript:alert(1)"},
                                 token=token)
    assert (status, problem["code"]) == (422, "invalid_image_url")
    status, problem = await call(node, "PATCH", f"/api/v1/products/{other['id']}",
                                 {"stock": None}, token=token)
    assert (status, problem["code"]) == (422, "invalid_stock")
    for path in ("/api/v1/products/999999999", "/api/v1/products/x"):
        status, problem = await call(node, "GET", path, token=token)
        assert (status, problem["code"]) == (404, "product_not_found"), path
    status, problem = await call(node, "PATCH", "/api/v1/products/999999999", {"stock": 1},
                                 token=token)
    assert (status, problem["code"]) == (404, "product_not_found")


async def test_permissions(node: Node) -> None:
    csrf = await login(node, "host")  # hosts read the catalog but do not edit it
    status, _ = await call(node, "GET", "/api/v1/products", csrf=csrf)
    assert status == 200
    status, problem = await call(node, "POST", "/api/v1/products",
                                 {"sku": sku(), "name": "x", "price": 1}, csrf=csrf)
    assert (status, problem["code"]) == (403, "permission_denied")
    reader = await api_token(node.app, "shows:read")
    status, problem = await call(node, "GET", "/api/v1/products", token=reader)
    assert (status, problem["code"]) == (403, "permission_denied")
