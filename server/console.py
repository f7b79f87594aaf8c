"""Placeholder pages for the site root and the console home (filled by broadcasts)."""

from __future__ import annotations

from aiohttp import web

from server.auth.middleware import principal_of
from server.pages import render


def require_staff_page(request: web.Request) -> None:
    """Send anonymous visitors to the login page; staff without access get 403."""
    who = principal_of(request)
    if not who.is_staff:
        raise web.HTTPSeeOther(f"/login?next={request.path_qs}")


async def home(request: web.Request) -> web.Response:
    return render(request, "home.html")


async def console_home(request: web.Request) -> web.Response:
    require_staff_page(request)
    return render(request, "console.html")


def setup(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/console", console_home)
