"""Reference server for the benches: stock python-socketio, one `emit(room=...)` per event.

Speaks the bench control protocol (see bench/node/server.js): prints
`READY {"port", "pid", "show_id"}`, then answers JSON commands read from stdin.
Run as a child of bench/fanout.py or bench/chat.py, not by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
from typing import Any

import socketio
from aiohttp import web
from control import paced_publish, rss_bytes, serve_commands

SHOW_ID = 1
ROOM = f"show:{SHOW_ID}"


def build() -> tuple[web.Application, socketio.AsyncServer]:
    # Stock options, as the python-socketio documentation shows them.
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
    app = web.Application()
    sio.attach(app)
    joined: set[str] = set()
    seq = 0

    @sio.on("join", namespace="/live")
    async def join(sid: str, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or data.get("show_id") != SHOW_ID:
            return {"ok": False, "error": "show_not_found"}
        await sio.enter_room(sid, ROOM, namespace="/live")
        joined.add(sid)
        return {"ok": True}

    @sio.on("chat", namespace="/live")
    async def chat(sid: str, data: Any) -> dict[str, Any]:
        nonlocal seq
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text or sid not in joined:
            return {"ok": False, "error": "invalid"}
        seq += 1
        message = {"id": seq, "user": sid, "nickname": "viewer", "text": text[:200]}
        await sio.emit("chat", message, room=ROOM, namespace="/live")
        return {"ok": True, "id": seq}

    @sio.on("disconnect", namespace="/live")
    async def disconnect(sid: str, *args: Any) -> None:
        joined.discard(sid)

    return app, sio


async def main(port: int) -> None:
    app, sio = build()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def handle(cmd: dict[str, Any]) -> dict[str, Any] | None:
        if cmd["cmd"] == "publish":
            return await paced_publish(
                lambda payload: sio.emit("msg", payload, room=ROOM, namespace="/live"),
                cmd["rate"], cmd["seconds"])
        if cmd["cmd"] == "gc":
            gc.collect()
            return {"done": "gc", "rss": rss_bytes()}
        return {"error": f"unknown command {cmd['cmd']}"}

    print("READY " + json.dumps({"port": bound, "pid": os.getpid(),
                                 "show_id": SHOW_ID}), flush=True)
    try:
        await serve_commands(handle)
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args()
    if not args.no_uvloop:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
    sys.exit(asyncio.run(main(args.port)))
