"""API operations: one declaration gives the route, the validation and the OpenAPI entry."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from server.errors import BadRequest, Invalid, UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

JSON_TYPES = ("application/json", "application/merge-patch+json")


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    auth: str = "public"  # public | staff | viewer | staff_or_viewer
    scope: str | None = None
    query: type[BaseModel] | None = None
    errors: tuple[str, ...] = ()
    idempotent: bool = False
    list_response: bool = False


@dataclass
class Operations:
    """A context's API operations, declared at import and registered by create_app."""

    tag: str
    items: list[Operation] = field(default_factory=list)

    def route(
        self, method: str, path: str, *, summary: str, **options: Any
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.items.append(
                Operation(method.upper(), path, handler, summary, self.tag, **options)
            )
            return handler

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)


def pydantic_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Validation errors without echoing the input back."""
    return [
        {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


async def read_json(request: web.Request, model: type[M]) -> M:
    """Parse and validate the JSON body; problems: unsupported_media_type, invalid_json,
    validation_failed, payload_too_large (aiohttp's client_max_size)."""
    ctype = request.content_type
    if ctype not in JSON_TYPES:
        raise UnsupportedMediaType(
            "unsupported_media_type", "send the body as application/json"
        )
    raw = await request.read()
    try:
        data = json.loads(raw, parse_constant=_no_constants) if raw else None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("invalid_json", "the body is not valid JSON") from None
    return validate(model, data)


def _no_constants(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's parser accepts them unless told otherwise.
    raise ValueError(f"{name} is not allowed in JSON")


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(
            "validation_failed", "the request does not match the schema",
            errors=pydantic_errors(exc),
        ) from None


def read_query(request: web.Request, model: type[M]) -> M:
    return validate(model, dict(request.query))


def json_response(payload: Any, status: int = 200, **kw: Any) -> web.Response:
    if isinstance(payload, BaseModel):
        body = payload.model_dump_json().encode()
    elif isinstance(payload, list) and payload and isinstance(payload[0], BaseModel):
        body = ("[" + ",".join(p.model_dump_json() for p in payload) + "]").encode()
    else:
        body = json.dumps(payload, ensure_ascii=False, default=str).encode()
    return web.Response(body=body, status=status, content_type="application/json", **kw)


def register(app: web.Application, operations: list[Operation]) -> None:
    for op in operations:
        app.router.add_route(op.method, op.path, op.handler)


# Which securitySchemes may authorise an operation, per Operation.auth.
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "staff": [{"session": []}, {"token": []}],
    "viewer": [{"viewer": []}],
    "staff_or_viewer": [{"session": []}, {"token": []}, {"viewer": []}],
}


def openapi_document(operations: list[Operation], version: str) -> dict[str, Any]:
    """OpenAPI 3.1 built from the same pydantic models the handlers validate with."""
    keyed: set[tuple[type[BaseModel], Any]] = set()
    for op in operations:
        if op.body is not None:
            keyed.add((op.body, "validation"))
        if op.response is not None:
            keyed.add((op.response, "serialization"))
    refs, top = models_json_schema(
        sorted(keyed, key=lambda k: (k[0].__name__, k[1])),
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    schemas["Problem"] = {
        "type": "object",
        "required": ["type", "title", "status", "code"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "code": {"type": "string"},
            "detail": {"type": "string"},
        },
    }
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        entry: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": op.handler.__module__.split(".")[0] + "_" + op.handler.__name__,
            "responses": {},
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _path_params(op.path)
        ]
        if op.query is not None:
            qschema = op.query.model_json_schema()
            for name, prop in qschema.get("properties", {}).items():
                params.append({
                    "name": name, "in": "query",
                    "required": name in qschema.get("required", []),
                    "schema": prop,
                })
        if op.idempotent:
            params.append({
                "name": "Idempotency-Key", "in": "header", "required": False,
                "schema": {"type": "string", "maxLength": 200},
            })
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {
                    "schema": refs[(op.body, "validation")]
                }},
            }
        ok: dict[str, Any] = {"description": "OK"}
        if op.response is not None:
            ref = refs[(op.response, "serialization")]
            schema = {"type": "array", "items": ref} if op.list_response else ref
            ok["content"] = {"application/json": {"schema": schema}}
        entry["responses"][str(op.status)] = ok
        problem_ref = {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"}
        }}
        entry["responses"]["default"] = {
            "description": "Error; see `code`" + (
                " (" + ", ".join(op.errors) + ")" if op.errors else ""
            ),
            "content": problem_ref,
        }
        if op.auth in _SECURITY:
            entry["security"] = _SECURITY[op.auth]
            if op.scope:
                entry["x-required-scope"] = op.scope
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "ONAIR API", "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "onair_session"},
                "token": {"type": "http", "scheme": "bearer", "description": "API token"},
                "viewer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    }


def _path_params(path: str) -> list[str]:
    names = []
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            names.append(part[1:-1].split(":")[0])
    return names
