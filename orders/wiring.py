"""Install the orders context into the app: services, routes, socket handlers."""

from __future__ import annotations

from aiohttp import web

from orders import catalog_http
from orders.catalog_service import CatalogService
from server.api import Operation
from server.keys import CATALOG, SESSIONS


def install(app: web.Application) -> list[Operation]:
    """Build this context's services, store them under app keys; return its API operations."""
    app[CATALOG] = CatalogService(app[SESSIONS])
    return list(catalog_http.ops.items)
