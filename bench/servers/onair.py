"""ONAIR under bench: the real app from create_app, with a server-side publisher.

Builds the app exactly as `onair serve` does (embedded SQLite in a scratch data dir,
uvloop when present), creates one live show through the shows service and speaks the
bench control protocol (see bench/node/server.js): `READY {"port", "pid", "show_id"}`,
then JSON commands on stdin. `publish` calls `hub.publish(show, "msg", payload,
coalesce=True)` at the asked rate: the path every context's high-rate events take.
Viewers come in through the product's own door (guest token, `/live`, `join`); chat goes
through the product's `chat` handler. Nothing here is reachable from the network.
Run as a child of bench/fanout.py or bench/chat.py, not by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import secrets
import socket
import sys
import tracemalloc
from pathlib import Path
from typing import Any

from aiohttp import web
from control import paced_publish, rss_bytes, serve_commands

from broadcasts.service import NewShow
from server.app import create_app
from server.auth.service import SYSTEM
from server.keys import HUB, SHOWS
from server.logs import configure_logging
from server.settings import Settings


def memory_growth(snapshots: list[tracemalloc.Snapshot], top: int = 12) -> list[str]:
    """Where Python memory grew since the previous gc command (the crowd's connections)."""
    snapshots.append(tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]))
    if len(snapshots) < 2:
        return []
    stats = snapshots[-1].compare_to(snapshots[-2], "lineno")
    total = sum(stat.size_diff for stat in stats)
    return [f"traced Python heap grew {total / 1024:.0f} KiB in all",
            *(str(stat) for stat in stats[:top])]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def main(data_dir: Path, tick_ms: int | None, trace: bool,
               redis_url: str | None = None) -> None:
    if trace:
        tracemalloc.start(8)
    port = free_port()
    settings = Settings(
        secret_key=secrets.token_urlsafe(32),
        data_dir=data_dir,
        public_base_url=f"http://127.0.0.1:{port}",
        access_log=False,
    )
    if tick_ms:
        settings = settings.with_(tick_ms=tick_ms)
    if redis_url:
        # The production path: room log in a Redis Stream, bus, presence, chat limits.
        settings = settings.with_(redis_url=redis_url,
                                  redis_prefix=f"onair-bench:{secrets.token_hex(4)}:")
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()

    show = await app[SHOWS].create_show(SYSTEM, NewShow(title="Bench show"))
    await app[SHOWS].transition(SYSTEM, show.id, "rehearse")
    await app[SHOWS].transition(SYSTEM, show.id, "go_live")
    hub = app[HUB]
    snapshots: list[tracemalloc.Snapshot] = []

    async def handle(cmd: dict[str, Any]) -> dict[str, Any] | None:
        if cmd["cmd"] == "publish":
            return await paced_publish(
                lambda payload: hub.publish(show.id, "msg", payload, coalesce=True),
                cmd["rate"], cmd["seconds"])
        if cmd["cmd"] == "gc":
            gc.collect()
            answer: dict[str, Any] = {"done": "gc", "rss": rss_bytes()}
            if tracemalloc.is_tracing():
                answer["top"] = memory_growth(snapshots)
            return answer
        if cmd["cmd"] == "stats":
            return {"done": "stats", "deliveries": hub.fanout.deliveries,
                    "frames": hub.fanout.frames}
        return {"error": f"unknown command {cmd['cmd']}"}

    print("READY " + json.dumps({"port": port, "pid": os.getpid(), "show_id": show.id}),
          flush=True)
    try:
        await serve_commands(handle)
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--tick-ms", type=int)
    parser.add_argument("--redis-url", help="run with Redis, as a multi-node deployment does")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="report where Python memory grows (inflates RSS: analysis only)")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    configure_logging(False, logging.WARNING)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    sys.exit(asyncio.run(main(args.data_dir, args.tick_ms, args.tracemalloc,
                                           args.redis_url)))
