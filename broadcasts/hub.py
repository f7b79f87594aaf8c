"""How shows meet the real-time hub: publishing, stock, the join snapshot and join checks."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from broadcasts.domain import show_not_found
from broadcasts.service import ShowService
from server.auth.domain import Principal
from server.keys import BUS, HUB

log = logging.getLogger("onair.shows")


def parse_show_id(raw: object) -> int:
    """Show ids arrive from clients as numbers or digit strings. Errors: show_not_found."""
    if isinstance(raw, bool):
        raise show_not_found(raw)
    if isinstance(raw, int) and 0 < raw < 2**31:
        return raw
    if isinstance(raw, str) and raw.isdigit() and len(raw) <= 10 and 0 < int(raw) < 2**31:
        return int(raw)
    raise show_not_found(str(raw)[:20])


class HubPort:
    """The service's publisher: events through the hub, cache drops through the bus."""

    CHANNEL = "shows:changed"

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def publish(self, show_id: int, event: str, payload: dict[str, Any]) -> None:
        hub = self._app.get(HUB)
        if hub is not None:
            await hub.publish(show_id, event, payload)

    def stock(self, show_id: int, product_id: int, stock: int) -> None:
        hub = self._app.get(HUB)
        if hub is not None:
            hub.set_latest(show_id, "stock", {str(product_id): stock})

    async def invalidate(self, show_id: int) -> None:
        await self._app[BUS].publish(self.CHANNEL, {"show_id": show_id})


def attach_to_hub(app: web.Application, shows: ShowService) -> None:
    """Register the join snapshot and the join check with the hub."""
    hub = app.get(HUB)
    if hub is None:
        log.warning("no real-time hub: shows publish nothing")
        return

    async def state(show_id: Any, principal: Principal) -> dict[str, Any]:
        return await shows.snapshot(parse_show_id(show_id), principal)

    async def check(show_id: Any, principal: Principal) -> None:
        await shows.check_join(parse_show_id(show_id), principal)

    hub.add_state_provider(state)
    hub.set_show_checker(check)
