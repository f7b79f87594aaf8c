"""The hub's four background loops, one each per node (none per socket or per show)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from server.realtime.fanout import dumps
from server.realtime.hub import CHANNEL

if TYPE_CHECKING:
    from server.realtime.hub import Hub

log = logging.getLogger("onair.realtime")

PRESENCE_STEP = 0.2
STATS_EVERY = 1.0


async def tick(hub: Hub) -> None:
    """Flush every room with something pending, every `tick_ms`."""
    loop = asyncio.get_running_loop()
    interval = hub.settings.tick_ms / 1000
    due = loop.time()
    while True:
        due += interval
        delay = due - loop.time()
        if delay < 0:  # late (a busy loop): do not try to catch up with a burst
            due, delay = loop.time(), 0
        await asyncio.sleep(delay)
        try:
            hub.fanout.flush_all()
        except Exception:
            log.exception("realtime tick failed")


async def pump(hub: Hub) -> None:
    """Send what this node gathered for other nodes: latest values and heart batches."""
    while True:
        await hub._pump_wake.wait()
        hub._pump_wake.clear()
        latest, hearts = hub.take_outgoing()
        try:
            for show_id, fields in latest.items():
                await hub.bus.publish(CHANNEL, {"t": "latest", "s": show_id, "f": fields,
                                                "o": hub.node_id})
            for show_id, count in hearts.items():
                total = await hub.counters.add_hearts(show_id, count)
                hub.fanout.set_hearts(show_id, total)
                await hub.bus.publish(CHANNEL, {"t": "hearts", "s": show_id, "n": total})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("realtime pump failed")
        # At most one batch per tick: later hearts coalesce while this one is sent.
        await asyncio.sleep(hub.settings.tick_ms / 1000)


async def sync_viewers(hub: Hub, show_id: int) -> None:
    """Write this node's count for a show and share the total it gets back."""
    result = await hub.counters.sync(show_id)
    hub.fanout.set_viewers(show_id, hub.counters.of(show_id).estimate)
    if result is not None:
        total, peak, version = result
        await hub.bus.publish(CHANNEL, {"t": "viewers", "s": show_id, "n": total, "p": peak,
                                        "v": version})
    entry = hub.counters.viewers.get(show_id)
    if entry is not None and entry.local == 0 and show_id not in hub.fanout.rooms:
        hub.counters.forget(show_id)


async def presence(hub: Hub) -> None:
    """Write changed counts soon; refresh every count (and read the totals) every ttl/3."""
    refresh_every = hub.settings.presence_ttl_seconds / 3
    next_refresh = time.monotonic() + refresh_every
    while True:
        await asyncio.sleep(PRESENCE_STEP)
        shows = set(hub.presence_dirty)
        hub.presence_dirty.clear()
        if time.monotonic() >= next_refresh:
            next_refresh = time.monotonic() + refresh_every
            shows.update(hub.fanout.rooms)
            shows.update(s for s, v in hub.counters.viewers.items() if v.local or v.written)
        for show_id in shows:
            try:
                await sync_viewers(hub, show_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("presence sync failed for show %s", show_id)


async def stats(hub: Hub) -> None:
    """Once a second, a `stats` event to the staff in each show's room on this node."""
    while True:
        await asyncio.sleep(STATS_EVERY)
        shows = [room.show_id for room in hub.fanout.rooms.values() if room.console]
        for show_id in shows:
            try:
                body = await show_stats(hub, show_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("stats failed for show %s", show_id)
                continue
            hub.fanout.send_event(show_id, "stats", dumps(body), staff_only=True)


async def show_stats(hub: Hub, show_id: int) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for provider in hub.stats_providers:
        try:
            body.update(await provider(show_id))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a stats provider failed for show %s", show_id)
    body.update({
        "show_id": show_id,
        "viewers": hub.viewers(show_id),
        "peak_viewers": hub.peak_viewers(show_id),
        "hearts": hub.hearts(show_id),
    })
    return body
