"""/api/openapi.json: an OpenAPI 3.1 document generated from the handlers' own models."""

from __future__ import annotations

from typing import Any

from tests.conftest import Node


async def fetch(node: Node) -> dict[str, Any]:
    async with node.http.get("/api/openapi.json") as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        doc: dict[str, Any] = await resp.json()
    return doc


def refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        for item in value.values():
            found += refs(item)
        return found
    if isinstance(value, list):
        return [ref for item in value for ref in refs(item)]
    return []


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


async def test_document_has_the_3_1_shape(node: Node) -> None:
    doc = await fetch(node)
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"]["title"]
    assert doc["info"]["version"]
    assert set(doc["components"]["securitySchemes"]) >= {"session", "token", "viewer"}
    operation_ids = []
    for path, item in doc["paths"].items():
        assert path.startswith("/")
        for method, op in item.items():
            assert method in {"get", "post", "put", "patch", "delete"}
            assert op["responses"], (method, path)
            assert op["summary"]
            operation_ids.append(op["operationId"])
            for name in [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]:
                assert "{" + name + "}" in path
    assert len(operation_ids) == len(set(operation_ids))
    for ref in refs(doc):
        assert resolve(doc, ref) is not None


async def test_admin_operations_are_listed_with_request_schemas(node: Node) -> None:
    doc = await fetch(node)
    paths = doc["paths"]
    expected = {
        ("/api/v1/users", "post"), ("/api/v1/users", "get"), ("/api/v1/tokens", "post"),
        ("/api/v1/tokens", "get"), ("/api/v1/tokens/{id}", "delete"),
    }
    for path, method in expected:
        op = paths[path][method]
        assert op["tags"] == ["admin"]
        assert op["x-required-scope"] == "users:admin"
        assert {"session": []} in op["security"]

    create_user = paths["/api/v1/users"]["post"]
    assert "201" in create_user["responses"]
    for code in ("username_taken", "invalid_username", "weak_password", "invalid_role"):
        assert code in create_user["responses"]["default"]["description"]
    schema = resolve(doc, create_user["requestBody"]["content"]["application/json"]["schema"]
                     ["$ref"])
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"username", "password", "role"}
    assert schema["properties"]["password"]["maxLength"] == 256
    assert "admin" in schema["properties"]["role"]["enum"]

    create_token = paths["/api/v1/tokens"]["post"]
    token_in = resolve(doc, create_token["requestBody"]["content"]["application/json"]["schema"]
                       ["$ref"])
    assert token_in["additionalProperties"] is False
    assert token_in["properties"]["name"]["maxLength"] == 80
    assert "users:admin" in token_in["properties"]["scopes"]["items"]["enum"]
    created = resolve(doc, create_token["responses"]["201"]["content"]["application/json"]
                      ["schema"]["$ref"])
    assert "token" in created["properties"]

    listed = paths["/api/v1/tokens"]["get"]
    page = resolve(doc, listed["responses"]["200"]["content"]["application/json"]["schema"]
                   ["$ref"])
    item = resolve(doc, page["properties"]["items"]["items"]["$ref"])
    assert "token" not in item["properties"]
    assert {p["name"] for p in listed["parameters"]} == {"after", "limit"}
