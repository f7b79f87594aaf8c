"""Shared fixtures: real SQLite and PostgreSQL engines, real Redis, real servers on free ports.

PostgreSQL and Redis tests skip when the service is absent, except with
ONAIR_REQUIRE_SERVICES=1 (CI), where they fail instead.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from yarl import URL

from server import migrate
from server.app import create_app
from server.auth.service import SYSTEM, AuthService
from server.db import make_engine, make_sessions
from server.settings import Settings

REQUIRE = os.environ.get("ONAIR_REQUIRE_SERVICES") == "1"
PG_URL = os.environ.get(
    "ONAIR_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/onair_test"
)
REDIS_URL = os.environ.get("ONAIR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery"


def service_missing(what: str, reason: str) -> None:
    """Fail in CI, skip elsewhere."""
    message = f"{what} is not reachable ({reason})"
    if REQUIRE:
        pytest.fail(message + "; ONAIR_REQUIRE_SERVICES=1 needs it", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _pg_admin(sql: str) -> None:
    import asyncpg

    base = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    admin = base.rsplit("/", 1)[0] + "/postgres"
    conn = await asyncpg.connect(admin, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_reachable() -> str | None:
    async def check() -> None:
        await _pg_admin("SELECT 1")

    try:
        asyncio.run(check())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The shared, migrated PostgreSQL test database (created by .ci/run or here)."""
    problem = _pg_reachable()
    if problem:
        service_missing("PostgreSQL", problem)
    name = PG_URL.rsplit("/", 1)[1]

    async def prepare() -> None:
        try:
            await _pg_admin(f'CREATE DATABASE "{name}"')
        except Exception as exc:
            if "already exists" not in str(exc):
                raise
        engine = make_engine(PG_URL, poolclass=_null_pool())
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(prepare())
    return PG_URL


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


@pytest.fixture
async def fresh_pg_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database of this test's own, dropped afterwards."""
    problem = await asyncio.to_thread(_pg_reachable)
    if problem:
        service_missing("PostgreSQL", problem)
    name = "onair_t_" + secrets.token_hex(6)
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database URL: a fresh SQLite file, or the shared PostgreSQL test database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'onair.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(db_url)
    if db_url.startswith("sqlite"):
        await migrate.upgrade(eng)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
async def redis_url() -> str:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        service_missing("Redis", f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    """Unique key prefix so tests sharing one Redis never see each other's keys."""
    return f"onair-test:{secrets.token_hex(5)}:"


@pytest.fixture
def make_settings(tmp_path: Path, redis_prefix: str) -> Callable[..., Settings]:
    def build(**changes: Any) -> Settings:
        values: dict[str, Any] = {
            "secret_key": "test-secret-" + "x" * 40,
            "data_dir": tmp_path / "var",
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'onair.db'}",
            "redis_prefix": redis_prefix,
            "shop_jwt_secret": "shop-shared-secret-0123456789",
            "access_log": False,
        }
        values.update(changes)
        return Settings(**values)

    return build


@dataclass
class Node:
    """One running server: its app, base URL and an HTTP client session."""

    app: web.Application
    url: str
    runner: web.AppRunner
    http: aiohttp.ClientSession

    async def stop(self) -> None:
        await self.http.close()
        await self.runner.cleanup()


StartNode = Callable[..., Awaitable[Node]]


@pytest.fixture
async def start_node(make_settings: Callable[..., Settings]) -> AsyncIterator[StartNode]:
    """Start a real server on a free port: `await start_node(database_url=..., redis_url=...)`."""
    nodes: list[Node] = []

    async def start(**changes: Any) -> Node:
        port = free_port()
        changes.setdefault("public_base_url", f"http://127.0.0.1:{port}")
        settings = make_settings(**changes)
        app = create_app(settings)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        jar = aiohttp.CookieJar(unsafe=True)
        node = Node(app, f"http://127.0.0.1:{port}", runner,
                    aiohttp.ClientSession(f"http://127.0.0.1:{port}", cookie_jar=jar))
        nodes.append(node)
        return node

    yield start
    for node in reversed(nodes):
        await node.stop()


@pytest.fixture
async def node(start_node: StartNode, db_url: str) -> Node:
    """A server on the parametrised database (SQLite and PostgreSQL)."""
    return await start_node(database_url=db_url)


async def create_staff(app: web.Application, role: str = "host") -> tuple[str, str]:
    """Create a console user with a unique name; returns (username, password)."""
    from server.keys import AUTH

    username = f"{role}-{secrets.token_hex(4)}"
    await app[AUTH].create_user(SYSTEM, username, PASSWORD, role)
    return username, PASSWORD


async def login(node: Node, role: str = "host") -> str:
    """Log a fresh user of `role` into node.http; returns the CSRF token for the session."""
    username, password = await create_staff(node.app, role)
    async with node.http.get("/login") as resp:
        assert resp.status == 200
    cookies = node.http.cookie_jar.filter_cookies(URL(node.url + "/login"))
    form_csrf = cookies["onair_login_csrf"].value
    async with node.http.post("/login", data={
        "username": username, "password": password, "csrf_token": form_csrf, "next": "/console",
    }, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
    from server.auth.middleware import SESSION_COOKIE
    from server.keys import AUTH

    cookie = node.http.cookie_jar.filter_cookies(URL(node.url))[SESSION_COOKIE].value
    staff = await node.app[AUTH].session(cookie)
    assert staff is not None
    return staff.csrf_token


async def api_token(app: web.Application, *scopes: str) -> str:
    from server.keys import AUTH

    token, _ = await app[AUTH].create_token(SYSTEM, "test", list(scopes))
    return token


def auth_service(engine: AsyncEngine, settings: Settings) -> AuthService:
    return AuthService(make_sessions(engine), settings)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    import shutil

    from playwright.async_api import async_playwright

    if not shutil.which(CHROMIUM):
        service_missing("Chromium", f"{CHROMIUM} is not installed")
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()
