"""Install the chat context into the app: services, routes, socket handlers."""

from __future__ import annotations

from aiohttp import web

from server.api import Operation


def install(app: web.Application) -> list[Operation]:
    """Build this context's services, store them under app keys; return its API operations."""
    return []
