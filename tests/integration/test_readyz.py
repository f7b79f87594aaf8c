"""/readyz follows Redis: ready, degraded while this test's own Redis is down, ready again."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.conftest import REQUIRE, Node, StartNode, free_port

DEADLINE = 20.0


class RedisProcess:
    """A private redis-server on a free port, so stopping it disturbs no other test."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.directory),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )
        await wait_until(self._answers, "redis-server to answer")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self.proc = None

    async def _answers(self) -> bool:
        client = Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            return bool(await client.ping())
        except Exception:
            return False
        finally:
            await client.aclose()


async def wait_until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `check` until true; fail with `what` after the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not await check():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[RedisProcess]:
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed"
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)
    server = RedisProcess(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def readyz(node: Node) -> tuple[int, dict[str, Any]]:
    async with node.http.get("/readyz") as resp:
        return resp.status, await resp.json()


async def test_readyz_reports_redis_down_and_back(
    start_node: StartNode, db_url: str, private_redis: RedisProcess
) -> None:
    node = await start_node(database_url=db_url, redis_url=private_redis.url)
    assert await readyz(node) == (
        200, {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
    )

    await private_redis.stop()

    async def degraded() -> bool:
        status, body = await readyz(node)
        return status == 200 and body == {
            "status": "degraded", "checks": {"database": "ok", "redis": "down"},
        }

    await wait_until(degraded, "/readyz to report Redis down")
    # The node stays up for its own users while Redis is away.
    async with node.http.get("/healthz") as resp:
        assert resp.status == 200
    async with node.http.post("/api/v1/viewer/guest", json={"nickname": "still here"}) as resp:
        assert resp.status == 201

    await private_redis.start()

    async def ready_again() -> bool:
        _status, body = await readyz(node)
        return body["status"] == "ready"

    await wait_until(ready_again, "/readyz to see Redis back")
