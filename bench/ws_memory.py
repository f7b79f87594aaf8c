"""Server memory per idle Socket.IO viewer, with websocket per-message deflate off and on.

For each setting it starts `onair serve` in its own process, connects viewers from a
separate client process (websocket transport, joined to the /live namespace with a guest
token, offering permessage-deflate as browsers do), waits until the server's RSS settles
and prints the server's RSS growth per connection. The last line is one JSON object.

    python bench/ws_memory.py              # 1,000 viewers per setting
    python bench/ws_memory.py --smoke      # 50 viewers, for CI
    python bench/ws_memory.py --clients 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 20  # connections made before the baseline, so first-use allocations are excluded
SETTLE_SECONDS = 10.0


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- client process -------------------------------------------------------------------


async def viewer(http: aiohttp.ClientSession, url: str, token: str,
                 ready: asyncio.Queue[bool]) -> None:
    """One Engine.IO v4 websocket joined to /live; answers pings until cancelled."""
    ws_url = url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    async with http.ws_connect(ws_url, compress=15, max_msg_size=0) as ws:
        opened = await ws.receive_str()
        if not opened.startswith("0"):
            raise RuntimeError(f"unexpected open packet {opened[:60]!r}")
        await ws.send_str("40/live," + json.dumps({"token": token}))
        joined = False
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = msg.data
            if data == "2":
                await ws.send_str("3")
            elif data.startswith("40/live,") and not joined:
                joined = True
                await ready.put(True)
            elif data.startswith("44/live,"):
                await ready.put(False)
                raise RuntimeError(f"/live refused the viewer: {data[:120]}")


async def run_clients(url: str, token: str, count: int) -> None:
    """Connect `count` viewers, print "connected N", stay idle until stdin closes."""
    raise_fd_limit()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        ready: asyncio.Queue[bool] = asyncio.Queue()
        tasks = []
        for index in range(count):
            tasks.append(asyncio.create_task(viewer(http, url, token, ready)))
            if index % 100 == 99:
                await asyncio.sleep(0)  # let the handshakes progress between batches
        ok = 0
        for _ in range(count):
            ok += await asyncio.wait_for(ready.get(), 60)
        print(f"connected {ok}", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- orchestration --------------------------------------------------------------------


async def start_clients(url: str, token: str, count: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--client-of", url, "--token", token, "--clients", str(count),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode().strip()
    if line != f"connected {count}":
        raise RuntimeError(f"client process said {line!r}")
    return proc


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.stdin is not None and not proc.stdin.is_closing():
        proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 20)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def settled_rss(pid: int) -> int:
    """RSS once two readings half a second apart agree within 0.5% (or after a limit)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    last = rss_kib(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = rss_kib(pid)
        if abs(now - last) <= last * 0.005:
            return now
        last = now
    return last


async def measure(compress: bool, clients: int) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="onair-wsmem-") as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ONAIR_")}
        env.update({
            "ONAIR_DATA_DIR": data_dir, "ONAIR_WS_COMPRESSION": "true" if compress else "false",
            "ONAIR_ACCESS_LOG": "false", "ONAIR_PUBLIC_BASE_URL": url,
            "PYTHONPATH": str(ROOT),
        })
        server = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve", str(port), env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )
        procs: list[asyncio.subprocess.Process] = []
        try:
            async with aiohttp.ClientSession(url) as http:
                await wait_healthy(http, server)
                async with http.post("/api/v1/viewer/guest", json={"nickname": "bench"}) as r:
                    r.raise_for_status()
                    token = (await r.json())["token"]
            procs.append(await start_clients(url, token, WARMUP))
            before = await settled_rss(server.pid)
            procs.append(await start_clients(url, token, clients))
            after = await settled_rss(server.pid)
        finally:
            for proc in procs:
                await stop(proc)
            server.terminate()
            await server.wait()
    return {
        "compress": compress, "clients": clients, "rss_before_kib": before,
        "rss_after_kib": after, "kib_per_conn": round((after - before) / clients, 2),
    }


async def wait_healthy(http: aiohttp.ClientSession, server: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.returncode is not None:
            raise RuntimeError(f"onair exited with {server.returncode}")
        try:
            async with http.get("/healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("onair did not answer /healthz within 60 s")


def serve(port: int) -> int:
    """The server process: `onair serve` with a raised file-descriptor limit."""
    raise_fd_limit()
    sys.path.insert(0, str(ROOT))
    from server.cli import main as onair_main

    return onair_main(["serve", "--port", str(port)])


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    off = await measure(False, args.clients)
    print(f"deflate off: {off['kib_per_conn']:.1f} KiB per idle viewer "
          f"({off['clients']} viewers, RSS {off['rss_before_kib']} -> {off['rss_after_kib']} KiB)",
          flush=True)
    on = await measure(True, args.clients)
    print(f"deflate on:  {on['kib_per_conn']:.1f} KiB per idle viewer "
          f"({on['clients']} viewers, RSS {on['rss_before_kib']} -> {on['rss_after_kib']} KiB)",
          flush=True)
    ratio = on["kib_per_conn"] / off["kib_per_conn"] if off["kib_per_conn"] > 0 else None
    shown = f"{ratio:.2f}x" if ratio is not None else "n/a"
    print(f"deflate on / off: {shown}; deflate costs "
          f"{on['kib_per_conn'] - off['kib_per_conn']:.1f} KiB per viewer", flush=True)
    return {
        "bench": "ws_memory", "clients": args.clients,
        "off_kib_per_conn": off["kib_per_conn"], "on_kib_per_conn": on["kib_per_conn"],
        "ratio_on_over_off": round(ratio, 2) if ratio is not None else None,
        "deflate_cost_kib": round(on["kib_per_conn"] - off["kib_per_conn"], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true", help="50 viewers, for CI")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--client-of", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve)
    if args.client_of:
        asyncio.run(run_clients(args.client_of, args.token, args.clients))
        return 0
    if args.smoke:
        args.clients = 50
    result = asyncio.run(main_async(args))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
