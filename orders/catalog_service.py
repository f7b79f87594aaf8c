"""Catalog use cases: list, create and update products; tell listeners when stock changes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.catalog_domain import (
    MAX_PRICE,
    MAX_STOCK,
    SKU_RE,
    ProductCard,
    check_image_url,
    product_not_found,
    sku_taken,
)
from orders.tables import Product
from server.auth.domain import Principal
from server.db import utcnow
from server.errors import Invalid

log = logging.getLogger("onair.catalog")

StockListener = Callable[[int, int], Awaitable[None]]
EDITABLE = frozenset({"sku", "name", "price", "image_url", "stock"})


def card_of(row: Product) -> ProductCard:
    return ProductCard(row.id, row.sku, row.name, row.price, row.image_url, row.stock)


def _clean(field: str, value: Any) -> Any:
    """The service's own guard, so callers other than HTTP get the same rules."""
    if field == "sku":
        if not isinstance(value, str) or not SKU_RE.match(value):
            raise Invalid("invalid_sku", "1-64 characters: letters, digits, dot, dash, underscore")
        return value
    if field == "name":
        name = " ".join(str(value).split())
        if not name or len(name) > 200:
            raise Invalid("invalid_name", "1-200 characters")
        return name
    if field == "price":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_PRICE:
            raise Invalid("invalid_price", f"whole won from 0 to {MAX_PRICE}")
        return value
    if field == "stock":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_STOCK:
            raise Invalid("invalid_stock", f"a whole number from 0 to {MAX_STOCK}")
        return value
    if field == "image_url":
        return check_image_url(str(value))
    raise Invalid("unknown_field", field)


class CatalogService:
    """Products and their stock. Listeners hear of every committed stock change."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._stock_listeners: list[StockListener] = []

    def on_stock_change(self, listener: StockListener) -> None:
        """Call `await listener(product_id, stock)` after each committed stock change."""
        self._stock_listeners.append(listener)

    async def list_products(
        self, actor: Principal, *, q: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[Product]:
        """Products by id, optionally filtered by a SKU or name fragment (catalog:read)."""
        actor.require("catalog:read")
        query = select(Product).order_by(Product.id).limit(limit).offset(offset)
        if q:
            pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(or_(
                func.lower(Product.name).like(pattern.lower(), escape="\\"),
                func.lower(Product.sku).like(pattern.lower(), escape="\\"),
            ))
        async with self._sessions() as db:
            return list(await db.scalars(query))

    async def get_product(self, actor: Principal, product_id: int) -> Product:
        """One product (catalog:read). Errors: product_not_found."""
        actor.require("catalog:read")
        async with self._sessions() as db:
            row = await db.get(Product, product_id)
        if row is None:
            raise product_not_found(product_id)
        return row

    async def create_product(
        self, actor: Principal, *, sku: str, name: str, price: int, image_url: str = "",
        stock: int = 0,
    ) -> Product:
        """Add a product (catalog:write). Errors: sku_taken and the invalid_* field codes."""
        actor.require("catalog:write")
        values = {
            key: _clean(key, value)
            for key, value in
            {"sku": sku, "name": name, "price": price, "image_url": image_url,
             "stock": stock}.items()
        }
        now = self._clock()
        row = Product(**values, created_at=now, updated_at=now)
        async with self._sessions() as db:
            db.add(row)
            try:
                await db.commit()
            except IntegrityError:
                raise sku_taken(values["sku"]) from None
        return row

    async def update_product(
        self, actor: Principal, product_id: int, changes: dict[str, Any]
    ) -> Product:
        """Change some fields (catalog:write); a stock change reaches the listeners.
        Errors: product_not_found, sku_taken, invalid_*."""
        actor.require("catalog:write")
        unknown = set(changes) - EDITABLE
        if unknown:
            raise Invalid("unknown_field", ", ".join(sorted(unknown)))
        values = {key: _clean(key, value) for key, value in changes.items()}
        async with self._sessions() as db:
            row = await db.get(Product, product_id, with_for_update=True)
            if row is None:
                raise product_not_found(product_id)
            before = row.stock
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = self._clock()
            try:
                await db.commit()
            except IntegrityError:
                raise sku_taken(str(values.get("sku"))) from None
        if row.stock != before:
            await self._stock_changed(row.id, row.stock)
        return row

    async def cards(self, product_ids: Iterable[int]) -> dict[int, ProductCard]:
        """Viewer-facing cards for these products (unknown ids are left out). Product
        cards are public, so no principal: other contexts call this for their pages."""
        ids = sorted(set(product_ids))
        if not ids:
            return {}
        async with self._sessions() as db:
            rows = await db.scalars(select(Product).where(Product.id.in_(ids)))
            return {row.id: card_of(row) for row in rows}

    async def _stock_changed(self, product_id: int, stock: int) -> None:
        for listener in self._stock_listeners:
            try:
                await listener(product_id, stock)
            except Exception:
                # The change is committed; a failing listener must not undo the answer.
                log.exception("stock listener failed for product %s", product_id)
