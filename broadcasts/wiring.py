"""Install the broadcasts context into the app: services, routes, socket handlers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from broadcasts import http, pages
from broadcasts.hub import HubPort, attach_to_hub
from broadcasts.service import ShowService
from server.api import Operation
from server.keys import AUTH, BUS, CATALOG, PAGES, SESSIONS, SETTINGS, SHOWS

TEMPLATES = Path(__file__).parent / "templates"


def install(app: web.Application) -> list[Operation]:
    """Build this context's services, store them under app keys; return its API operations."""
    port = HubPort(app)
    shows = ShowService(
        app[SESSIONS], app[CATALOG], app[AUTH], port,
        default_time_zone=app[SETTINGS].time_zone,
    )
    app[SHOWS] = shows
    app[CATALOG].on_stock_change(shows.stock_changed)
    app[BUS].subscribe(port.CHANNEL, lambda message: _forget(shows, message))
    attach_to_hub(app, shows)
    app[PAGES].add_dir(str(TEMPLATES))
    pages.setup(app)
    _add_demo_seeder(app)
    return list(http.ops.items)


def _forget(shows: ShowService, message: dict[str, Any]) -> None:
    show_id = message.get("show_id")
    if isinstance(show_id, int):
        shows.forget(show_id)


def _add_demo_seeder(app: web.Application) -> None:
    from broadcasts.demo import seed_shows
    from server.demo import DEMO_SEEDERS

    app.setdefault(DEMO_SEEDERS, []).append(seed_shows)
