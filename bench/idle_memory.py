"""Where the server's memory per idle viewer goes: RSS, tasks and Python objects per viewer.

Starts ONAIR (the app from create_app, embedded SQLite, uvloop when present, one live
show) in its own process, connects viewers from a second process (websocket transport,
`/live` with a guest token, joined to the show, answering pings, no deflate offered),
and prints what one idle viewer costs the server: RSS growth, asyncio tasks, and the
Python object types and allocation sites (tracemalloc, with `--trace`) that grew.

    python bench/idle_memory.py                    # 1,000 viewers
    python bench/idle_memory.py --viewers 2000
    python bench/idle_memory.py --trace            # + allocation sites (inflates RSS)

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import secrets
import socket
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 20


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- server process ---------------------------------------------------------------------


async def serve(data_dir: Path, trace: bool) -> None:
    from aiohttp import web

    from broadcasts.service import NewShow
    from server.app import create_app
    from server.auth.service import SYSTEM
    from server.keys import SHOWS
    from server.settings import Settings

    if trace:
        tracemalloc.start(1)
    port = free_port()
    settings = Settings(secret_key=secrets.token_urlsafe(32), data_dir=data_dir,
                        public_base_url=f"http://127.0.0.1:{port}", access_log=False)
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    show = await app[SHOWS].create_show(SYSTEM, NewShow(title="Idle memory"))
    await app[SHOWS].transition(SYSTEM, show.id, "rehearse")
    await app[SHOWS].transition(SYSTEM, show.id, "go_live")
    print("READY " + json.dumps({"port": port, "show_id": show.id}), flush=True)
    snapshot: tracemalloc.Snapshot | None = None
    types: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        if line.strip() != "measure":
            continue
        await asyncio.sleep(1.0)
        gc.collect()
        now_types = Counter(type(o).__qualname__ for o in gc.get_objects())
        answer: dict[str, Any] = {
            "rss_kib": rss_kib(), "tasks": len(asyncio.all_tasks()),
            "types": dict((now_types - types).most_common(25)),
            "task_kinds": dict(Counter(t.get_coro().__qualname__  # type: ignore[union-attr]
                                       for t in asyncio.all_tasks()).most_common(8)),
        }
        types = now_types
        if trace:
            snap = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)])
            if snapshot is not None:
                answer["sites"] = [str(s) for s in snap.compare_to(snapshot, "lineno")[:25]]
            snapshot = snap
        print("MEASURE " + json.dumps(answer), flush=True)
    await runner.cleanup()


# --- client process ---------------------------------------------------------------------


async def viewer(http: aiohttp.ClientSession, url: str, token: str, show_id: int,
                 ready: asyncio.Queue[bool]) -> None:
    """One Engine.IO v4 websocket on /live, joined to the show, answering pings."""
    ws_url = url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    async with http.ws_connect(ws_url, max_msg_size=0) as ws:
        await ws.receive_str()
        await ws.send_str("40/live," + json.dumps({"token": token}))
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = msg.data
            if data == "2":
                await ws.send_str("3")
            elif data.startswith("40/live,"):
                await ws.send_str(f'42/live,1["join",{{"show_id":{show_id}}}]')
            elif data.startswith("43/live,1"):
                await ready.put('"ok":true' in data)
            elif data.startswith("44/live,"):
                await ready.put(False)


async def clients(url: str, token: str, show_id: int, count: int, pace: float) -> None:
    raise_fd_limit()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        ready: asyncio.Queue[bool] = asyncio.Queue()
        tasks = []
        for index in range(count):
            tasks.append(asyncio.create_task(viewer(http, url, token, show_id, ready)))
            if index % 50 == 49:
                await asyncio.sleep(pace)
        ok = 0
        for _ in range(count):
            ok += await asyncio.wait_for(ready.get(), 120)
        print(f"joined {ok}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- orchestration ----------------------------------------------------------------------


async def start_clients(url: str, token: str, show_id: int, count: int,
                        pace: float) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--client-of", url, "--token", token,
        "--show", str(show_id), "--viewers", str(count), "--pace", str(pace),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 180)).decode().strip()
    if line != f"joined {count}":
        raise RuntimeError(f"client process said {line!r}")
    return proc


async def measure(server: asyncio.subprocess.Process) -> dict[str, Any]:
    assert server.stdin is not None
    assert server.stdout is not None
    last: dict[str, Any] = {}
    for _ in range(3):  # until RSS settles
        server.stdin.write(b"measure\n")
        await server.stdin.drain()
        while not (line := (await server.stdout.readline()).decode()).startswith("MEASURE "):
            if not line:
                raise RuntimeError("server exited")
        answer: dict[str, Any] = json.loads(line[8:])
        if last and abs(answer["rss_kib"] - last["rss_kib"]) <= 0.005 * last["rss_kib"]:
            answer["types"] = {**last["types"], **answer["types"]}
            answer["sites"] = last.get("sites", answer.get("sites"))
            return answer
        if last:
            answer["types"] = {**last["types"], **answer["types"]}
            answer["sites"] = last.get("sites", answer.get("sites"))
        last = answer
    return last


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="onair-idle-") as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ONAIR_")}
        env["PYTHONPATH"] = str(ROOT)
        pace = 0.5 if args.trace else 0.05  # seconds between batches of 50 joins
        server = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve", data_dir, *(["--trace"] if args.trace else []),
            env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert server.stdout is not None
        procs: list[asyncio.subprocess.Process] = []
        try:
            line = (await asyncio.wait_for(server.stdout.readline(), 60)).decode()
            ready = json.loads(line.removeprefix("READY "))
            url = f"http://127.0.0.1:{ready['port']}"
            async with aiohttp.ClientSession(url) as http, \
                    http.post("/api/v1/viewer/guest", json={"nickname": "idle"}) as resp:
                token = (await resp.json())["token"]
            procs.append(await start_clients(url, token, ready["show_id"], WARMUP, pace))
            before = await measure(server)
            started = time.monotonic()
            procs.append(await start_clients(url, token, ready["show_id"], args.viewers, pace))
            connect_s = time.monotonic() - started
            after = await measure(server)
        finally:
            for proc in procs:
                if proc.stdin is not None:
                    proc.stdin.close()
                await proc.wait()
            if server.stdin is not None:
                server.stdin.close()
            try:
                await asyncio.wait_for(server.wait(), 20)
            except TimeoutError:
                server.kill()
                await server.wait()
    n = args.viewers
    print(f"objects per viewer (types that grew), {n} viewers:")
    for name, count in after["types"].items():
        if count >= n // 2:
            print(f"  {count / n:6.2f}  {name}")
    print("tasks by coroutine:", after["task_kinds"])
    for site in after.get("sites") or []:
        print("  " + site)
    result = {
        "bench": "idle_memory", "viewers": n,
        "kib_per_viewer": round((after["rss_kib"] - before["rss_kib"]) / n, 2),
        "tasks_per_viewer": round((after["tasks"] - before["tasks"]) / n, 2),
        "connect_s": round(connect_s, 1), "traced": args.trace,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--client-of", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--show", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pace", type=float, default=0.05, help=argparse.SUPPRESS)
    cli = parser.parse_args()
    if cli.serve is not None:
        raise_fd_limit()
        sys.path.insert(0, str(ROOT))
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(serve(cli.serve, cli.trace))
    elif cli.client_of is not None:
        asyncio.run(clients(cli.client_of, cli.token, cli.show, cli.viewers, cli.pace))
    else:
        sys.exit(asyncio.run(main(cli)))
