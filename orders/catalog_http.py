"""Thin HTTP handlers for the catalog: /api/v1/products."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from orders.catalog_domain import IMAGE_URL_MAX, MAX_PRICE, MAX_STOCK, product_not_found
from orders.tables import Product
from server.api import Operations, json_response, read_json, read_query
from server.auth.middleware import principal_of
from server.keys import CATALOG

ops = Operations(tag="catalog")

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_AUTH_ERRORS = ("login_required", "permission_denied")


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(pattern=SKU_PATTERN, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    price: int = Field(ge=0, le=MAX_PRICE, strict=True, description="whole KRW")
    image_url: str = Field(default="", max_length=IMAGE_URL_MAX)
    stock: int = Field(default=0, ge=0, le=MAX_STOCK, strict=True)


class ProductPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str | None = Field(default=None, pattern=SKU_PATTERN, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    price: int | None = Field(default=None, ge=0, le=MAX_PRICE, strict=True)
    image_url: str | None = Field(default=None, max_length=IMAGE_URL_MAX)
    stock: int | None = Field(default=None, ge=0, le=MAX_STOCK, strict=True)


class ProductOut(BaseModel):
    id: int
    sku: str
    name: str
    price: int
    image_url: str
    stock: int
    created_at: datetime
    updated_at: datetime


class ProductQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(default=None, max_length=100)
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


def product_out(row: Product) -> ProductOut:
    return ProductOut(
        id=row.id, sku=row.sku, name=row.name, price=row.price, image_url=row.image_url,
        stock=row.stock, created_at=row.created_at, updated_at=row.updated_at,
    )


def _product_id(request: web.Request) -> int:
    raw = request.match_info["product_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise product_not_found(raw[:20])
    return int(raw)


@ops.get("/api/v1/products", summary="List products", response=ProductOut, list_response=True,
         query=ProductQuery, auth="staff", scope="catalog:read", errors=_AUTH_ERRORS)
async def list_products(request: web.Request) -> web.Response:
    query = read_query(request, ProductQuery)
    rows = await request.app[CATALOG].list_products(
        principal_of(request), q=query.q, limit=query.limit, offset=query.offset)
    return json_response([product_out(row).model_dump(mode="json") for row in rows])


@ops.post("/api/v1/products", summary="Create a product", body=ProductIn, response=ProductOut,
          status=201, auth="staff", scope="catalog:write",
          errors=(*_AUTH_ERRORS, "sku_taken", "invalid_image_url", "validation_failed"))
async def create_product(request: web.Request) -> web.Response:
    body = await read_json(request, ProductIn)
    row = await request.app[CATALOG].create_product(principal_of(request), **body.model_dump())
    return json_response(product_out(row), status=201)


@ops.get("/api/v1/products/{product_id}", summary="Get a product", response=ProductOut,
         auth="staff", scope="catalog:read", errors=(*_AUTH_ERRORS, "product_not_found"))
async def get_product(request: web.Request) -> web.Response:
    product_id = _product_id(request)
    row = await request.app[CATALOG].get_product(principal_of(request), product_id)
    return json_response(product_out(row))


@ops.patch("/api/v1/products/{product_id}",
           summary="Update a product; a stock change reaches pinned cards live",
           body=ProductPatch, response=ProductOut, auth="staff", scope="catalog:write",
           errors=(*_AUTH_ERRORS, "product_not_found", "sku_taken", "invalid_image_url",
                   "validation_failed"))
async def update_product(request: web.Request) -> web.Response:
    product_id = _product_id(request)
    body = await read_json(request, ProductPatch)
    changes = body.model_dump(exclude_unset=True)
    row = await request.app[CATALOG].update_product(principal_of(request), product_id, changes)
    return json_response(product_out(row))
