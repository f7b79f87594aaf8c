"""The bench control protocol on the server side: JSON commands on stdin, answers on stdout."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


async def paced_publish(
    emit: Callable[[dict[str, Any]], Awaitable[Any]], rate: float, seconds: float
) -> dict[str, Any]:
    """Emit the bench message at `rate` for `seconds`, the same way on every server; an
    emit that is behind is not made up after the deadline (a saturated server sends fewer).
    Each text carries its send time (`bt=` ms) for the load client's latency samples."""
    start = time.perf_counter()
    deadline = start + seconds
    sent = 0
    while (now := time.perf_counter()) < deadline:
        due = int((now - start) * rate)
        while sent < due and time.perf_counter() < deadline:
            sent += 1
            await emit({
                "n": sent,
                "nickname": "host",
                "text": f"bt={time.time() * 1000:.3f} the bench says hello",
            })
        await asyncio.sleep(0.002)
    return {"done": "publish", "sent": sent}


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size of a process (this one by default), from /proc."""
    with open(f"/proc/{pid or os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc status")


def reply(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def serve_commands(handle: Handler) -> None:
    """Run each stdin command as its own task (a publish must not block a gc); stop on quit/EOF."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks: set[asyncio.Task[None]] = set()

    async def run(cmd: dict[str, Any]) -> None:
        try:
            answer = await handle(cmd)
        except Exception as exc:  # reported to the bench, which fails loudly
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        if answer is not None:
            reply(answer)

    while True:
        line = await reader.readline()
        if not line:
            break
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd.get("cmd") == "quit":
            break
        task = loop.create_task(run(cmd))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    for task in tasks:
        task.cancel()
