"""Console helpers shared by the contexts' pages (the pages live in broadcasts/pages.py)."""

from __future__ import annotations

from aiohttp import web

from server.auth.middleware import principal_of


def require_staff_page(request: web.Request) -> None:
    """Send anonymous visitors to the login page; staff without access get 403."""
    who = principal_of(request)
    if not who.is_staff:
        raise web.HTTPSeeOther(f"/login?next={request.path_qs}")


def setup(app: web.Application) -> None:
    """`/` and `/console` are registered by the broadcasts context."""
