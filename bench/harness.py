"""Shared machinery of the socket benches: child processes, the load client, one measured run."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
NODE_DIR = BENCH_DIR / "node"
ROOT = BENCH_DIR.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")

# name -> label printed in tables
LABELS = {"onair": "ONAIR", "node": "Node socket.io 4", "pysio": "python-socketio"}


class BenchError(Exception):
    """A bench step failed; the message says which and shows the child's last words."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (everything but idle and iowait)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / CLK_TCK


def _open_log(logdir: Path, name: str) -> tuple[Path, Any]:
    logdir.mkdir(parents=True, exist_ok=True)
    log = logdir / f"{name}.log"
    return log, open(log, "wb")


class Child:
    """A child process that answers JSON lines on stdout; stderr goes to a log file.

    Replies are matched to callers by their `done` field, so several commands may be
    outstanding at once (a publish runs while reset and report come and go). An `error`
    reply fails every caller waiting at that moment.
    """

    def __init__(self, name: str, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.name, self.proc, self.log = name, proc, log
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[dict[str, Any]] = loop.create_future()
        # Load clients never print READY; do not warn about an exception nobody awaits.
        self.ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._waiting: dict[str, list[asyncio.Future[dict[str, Any]]]] = {}
        self._unclaimed: dict[str, list[dict[str, Any]]] = {}
        self._gone: str | None = None
        self._reader = loop.create_task(self._read())

    @classmethod
    async def start(cls, name: str, argv: list[str], *, cwd: Path, env: dict[str, str] | None,
                    logdir: Path) -> Child:
        log, handle = _open_log(logdir, name)
        with handle:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=handle, limit=1 << 20,
            )
        return cls(name, proc, log)

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            text = line.decode().strip()
            if text.startswith("READY "):
                if not self.ready.done():
                    self.ready.set_result(json.loads(text[6:]))
            elif text.startswith("{"):
                self._dispatch(json.loads(text))
        self._gone = f"{self.name} exited"
        if not self.ready.done():
            self.ready.set_exception(BenchError(f"{self.name} exited: {self.tail()}"))
        self._fail_all(self._gone)

    def _dispatch(self, reply: dict[str, Any]) -> None:
        if "error" in reply:
            self._fail_all(str(reply["error"]))
            return
        key = str(reply.get("done"))
        waiters = self._waiting.get(key)
        while waiters:
            fut = waiters.pop(0)
            if not fut.done():
                fut.set_result(reply)
                return
        self._unclaimed.setdefault(key, []).append(reply)

    def _fail_all(self, why: str) -> None:
        for waiters in self._waiting.values():
            for fut in waiters:
                if not fut.done():
                    fut.set_exception(BenchError(f"{self.name}: {why}\n{self.tail()}"))
            waiters.clear()

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:]) or "(empty log)"

    def send(self, cmd: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())

    async def wait_for(self, done: str, within: float) -> dict[str, Any]:
        """The next reply whose `done` is `done`."""
        unclaimed = self._unclaimed.get(done)
        if unclaimed:
            return unclaimed.pop(0)
        if self._gone:
            raise BenchError(f"{self._gone}\n{self.tail()}")
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(done, []).append(fut)
        try:
            return await asyncio.wait_for(fut, within)
        except TimeoutError:
            raise BenchError(f"{self.name}: no '{done}' reply within {within:.0f}s\n"
                             f"{self.tail()}") from None

    async def call(self, cmd: dict[str, Any], within: float = 120) -> dict[str, Any]:
        self.send(cmd)
        return await self.wait_for(cmd["cmd"], within)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                self.send({"cmd": "quit"})
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()


@dataclass
class ServerSpec:
    """How to start one server under test and how its viewers authenticate."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    guest_token_path: str | None = None  # POST here for a viewer token, one per viewer


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    # The project root only: bench/ is not importable from the servers (bench/chat.py
    # would shadow the chat package); bench/servers/ is the script's own directory.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def server_specs(names: list[str], tmp: Path, *, tick_ms: int | None = None,
                 trace_memory: bool = False, redis_url: str | None = None) -> list[ServerSpec]:
    node = shutil.which("node") or "node"
    specs = {
        "onair": ServerSpec(
            "onair",
            [sys.executable, str(BENCH_DIR / "servers" / "onair.py"),
             "--data-dir", str(tmp / "onair")]
            + (["--tick-ms", str(tick_ms)] if tick_ms else [])
            + (["--redis-url", redis_url] if redis_url else [])
            + (["--tracemalloc"] if trace_memory else []),
            env=python_env(),
            guest_token_path="/api/v1/viewer/guest",
        ),
        "node": ServerSpec("node", [node, "--expose-gc", str(NODE_DIR / "server.js")]),
        "pysio": ServerSpec("pysio", [sys.executable, str(BENCH_DIR / "servers" / "pysio.py")],
                            env=python_env()),
    }
    return [specs[n] for n in names]


def check_node_modules() -> None:
    if not (NODE_DIR / "node_modules" / "socket.io").is_dir():
        raise BenchError("bench/node/node_modules is missing: run `npm ci --prefix bench/node`")


@dataclass
class Load:
    """One or more Node load-client processes acting as one crowd of viewers."""

    children: list[Child] = field(default_factory=list)

    @classmethod
    async def start(cls, procs: int, logdir: Path, tag: str) -> Load:
        node = shutil.which("node") or "node"
        load = cls()
        for i in range(procs):
            child = await Child.start(f"load-{tag}-{i}", [node, str(NODE_DIR / "load.js")],
                                      cwd=NODE_DIR, env=None, logdir=logdir)
            load.children.append(child)
        return load

    async def all(self, make: Callable[[int], dict[str, Any]], within: float = 300,
                  ) -> list[dict[str, Any]]:
        return list(await asyncio.gather(
            *(c.call(make(i), within) for i, c in enumerate(self.children))))

    async def connect(self, n: int, url: str, show_id: int, token_url: str | None) -> float:
        start = time.perf_counter()
        share = _split(n, len(self.children))
        offsets = [sum(share[:i]) for i in range(len(share))]
        await self.all(lambda i: {"cmd": "connect", "n": share[i], "offset": offsets[i],
                                  "url": url, "showId": show_id, "tokenUrl": token_url})
        return time.perf_counter() - start

    async def chat(self, rate: float, seconds: float, show_id: int) -> dict[str, Any]:
        """Every viewer takes turns sending `chat`, `rate` messages/s in total."""
        parts = len(self.children)
        done = await self.all(lambda i: {"cmd": "chat", "rate": rate / parts,
                                         "seconds": seconds, "showId": show_id},
                              within=seconds + 120)
        return {"done": "chat", "sent": sum(d["sent"] for d in done)}

    async def report(self) -> dict[str, Any]:
        return merge_reports(await self.all(lambda i: {"cmd": "report"}))

    async def reset(self) -> None:
        await self.all(lambda i: {"cmd": "reset"})

    async def close_viewers(self) -> None:
        await self.all(lambda i: {"cmd": "close"})

    def cpu(self) -> float:
        return sum(cpu_seconds(c.pid) for c in self.children)

    async def stop(self) -> None:
        for child in self.children:
            await child.stop()


def _split(n: int, parts: int) -> list[int]:
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def merge_reports(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum counters over load processes; latency percentiles come from the sampling process
    with the most samples (each process samples the same fraction of its viewers)."""
    merged: dict[str, Any] = {
        "seconds": max(r["seconds"] for r in reports),
        "deliveries": sum(r["deliveries"] for r in reports),
        "total_deliveries": sum(r.get("total_deliveries", 0) for r in reports),
        "frames": sum(r["frames"] for r in reports),
        "bytes": sum(r["bytes"] for r in reports),
        "closed_unexpectedly": sum(r["closed_unexpectedly"] for r in reports),
        "deflate": sum(r.get("deflate", 0) for r in reports),
    }
    merged["latency"] = max((r["latency"] for r in reports), key=lambda x: x.get("samples", 0))
    chat: dict[str, Any] = {"sent": 0, "acked": 0, "rejected": 0, "reject_codes": {}}
    for r in reports:
        c = r["chat"]
        chat["sent"] += c["sent"]
        chat["acked"] += c["acked"]
        chat["rejected"] += c["rejected"]
        for code, count in c["reject_codes"].items():
            chat["reject_codes"][code] = chat["reject_codes"].get(code, 0) + count
    chat["ack_p50"] = max((r["chat"]["ack_p50"] or 0) for r in reports) or None
    chat["ack_p99"] = max((r["chat"]["ack_p99"] or 0) for r in reports) or None
    merged["chat"] = chat
    return merged


@dataclass
class Session:
    """One server under test with its crowd connected."""

    spec: ServerSpec
    server: Child
    load: Load
    url: str
    show_id: int
    mem_per_viewer: float | None = None
    memory_growth: list[str] | None = None  # tracemalloc lines, when asked for
    connect_seconds: float = 0.0


@contextlib.asynccontextmanager
async def session(spec: ServerSpec, viewers: int, *, load_procs: int, logdir: Path,
                  tag: str, measure_memory: bool = True, warm_viewers: int = 20):
    """Start the server and the load client, measure idle memory per viewer, connect the crowd.

    Memory per viewer = (server RSS with `viewers` joined and idle - RSS after a warm-up
    crowd came and went) / viewers, each after a garbage collection."""
    server = await Child.start(f"{spec.name}-{tag}", spec.argv, cwd=ROOT, env=spec.env,
                               logdir=logdir)
    load: Load | None = None
    try:
        try:
            info = await asyncio.wait_for(server.ready, 120)
        except TimeoutError:
            raise BenchError(f"{spec.name} did not start\n{server.tail()}") from None
        url = f"http://127.0.0.1:{info['port']}"
        token_url = url + spec.guest_token_path if spec.guest_token_path else None
        show_id = int(info["show_id"])
        load = await Load.start(load_procs, logdir, f"{spec.name}-{tag}")
        sess = Session(spec, server, load, url, show_id)
        if measure_memory:
            # Warm the code paths (imports, first-use caches) before the baseline.
            await load.connect(min(warm_viewers, viewers), url, show_id, token_url)
            await load.close_viewers()
            await asyncio.sleep(1.0)
            before = (await server.call({"cmd": "gc"}))["rss"]
        sess.connect_seconds = await load.connect(viewers, url, show_id, token_url)
        if measure_memory:
            await asyncio.sleep(2.0)
            answer = await server.call({"cmd": "gc"})
            sess.mem_per_viewer = (answer["rss"] - before) / viewers
            sess.memory_growth = answer.get("top")
        yield sess
    finally:
        if load is not None:
            await load.stop()
        await server.stop()


async def measured_window(sess: Session, *, warmup: float, duration: float,
                          drive: Callable[[], Awaitable[dict[str, Any]]],
                          drain_limit: float = 10.0,
                          profile: Path | None = None) -> dict[str, Any]:
    """Start the source (`drive`, which returns when it is done), skip `warmup`, count
    for `duration`, then let queues drain.

    Returns the window's counts and latency plus CPU use of server and load over the window
    and, after draining, the share of expected deliveries that arrived at all.
    """
    load, server = sess.load, sess.server
    source = asyncio.ensure_future(drive())
    await asyncio.sleep(warmup)
    await load.reset()
    cpu_server0, cpu_load0, t0 = cpu_seconds(server.pid), load.cpu(), time.perf_counter()
    busy0 = machine_busy_seconds()
    spy = await start_profile(sess, profile, duration)
    await asyncio.sleep(duration)
    window = await load.report()
    cpu_server1, cpu_load1, t1 = cpu_seconds(server.pid), load.cpu(), time.perf_counter()
    busy1 = machine_busy_seconds()
    done = await asyncio.wait_for(source, warmup + duration + 120)
    if spy is not None:
        await spy.wait()
    # Drain: wait until deliveries stop arriving (a saturated server has a backlog).
    last, drained_for = -1, 0.0
    while drained_for < drain_limit:
        total = (await load.report())["total_deliveries"]
        if total == last:
            break
        last = total
        await asyncio.sleep(0.5)
        drained_for += 0.5
    final = await load.report()
    wall = t1 - t0
    return {
        "window": window,
        "source": done,
        "total_deliveries": final["total_deliveries"],
        "server_cpu": (cpu_server1 - cpu_server0) / wall,
        "load_cpu": (cpu_load1 - cpu_load0) / wall,
        # Cores busy with anything else (other work on the machine skews the figures).
        "other_cpu": max(0.0, (busy1 - busy0) - (cpu_server1 - cpu_server0)
                         - (cpu_load1 - cpu_load0)) / wall,
        "drained": drained_for < drain_limit,
    }


async def start_profile(sess: Session, where: Path | None, seconds: float,
                        ) -> asyncio.subprocess.Process | None:
    """py-spy on a Python server over the measured window: collapsed stacks (flame graph
    input) per server."""
    if where is None or sess.spec.name == "node":
        return None
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        raise BenchError("--profile needs py-spy: pip install -e '.[bench]'")
    out = where / f"{sess.server.name}.folded"
    return await asyncio.create_subprocess_exec(
        spy, "record", "--pid", str(sess.server.pid), "--duration", str(max(1, int(seconds))),
        "--rate", "200", "--format", "raw", "--output", str(out), "--nonblocking",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    versions: dict[str, str] = {}
    for dist in ("python-socketio", "python-engineio", "aiohttp", "uvloop"):
        with contextlib.suppress(Exception):
            versions[dist] = importlib.metadata.version(dist)
    with contextlib.suppress(Exception):
        pkg = json.loads((NODE_DIR / "node_modules/socket.io/package.json").read_text())
        versions["socket.io"] = pkg["version"]
    return {
        "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
        "node": node, "kernel": platform.release(), **versions,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def temp_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="onair-bench-")


def fmt_rate(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def fmt_ms(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.1f}" if x < 100 else f"{x:,.0f}"


def ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(a / b, 2)


def keep_logs(src: Path, dest: Path | None) -> None:
    """Copy the children's logs (server stderr, load client) somewhere that outlives the run."""
    if dest is None:
        return
    dest.mkdir(parents=True, exist_ok=True)
    for log in src.rglob("*.log"):
        (dest / log.name).write_bytes(log.read_bytes())
