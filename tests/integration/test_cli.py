"""The `onair` command as a subprocess: serve --demo seeds once; user and token create."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.auth.service import AuthService
from server.auth.tables import User
from server.db import make_engine, make_sessions
from server.settings import Settings
from tests.conftest import PASSWORD, free_port

DEADLINE = 60.0
SECRET = "cli-test-secret-" + "k" * 32


def onair_command() -> list[str]:
    """The installed console script next to this interpreter, else the module."""
    script = Path(sys.executable).with_name("onair")
    return [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONAIR_")}
    env.update({"ONAIR_DATA_DIR": str(data_dir), "ONAIR_ACCESS_LOG": "false"})
    env.update(extra)
    return env


async def run(args: list[str], env: dict[str, str], stdin: str = "") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *onair_command(), *args, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), DEADLINE)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def serve_demo_once(data_dir: Path) -> str:
    """Run `onair serve --demo` until it prints the demo block, then stop it gracefully."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *onair_command(), "serve", "--demo", "--port", str(port), env=cli_env(data_dir),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    lines: list[str] = []

    async def read_demo_block() -> None:
        assert proc.stdout is not None
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                raise AssertionError("onair exited early:\n" + "".join(lines))
            lines.append(raw.decode())
            # The block ends with the logins; the moderator is the last one printed.
            if raw.decode().strip().startswith("moderator"):
                return

    try:
        await asyncio.wait_for(read_demo_block(), DEADLINE)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), DEADLINE)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    return "".join(lines)


async def count_users(url: str) -> int:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            count = await conn.scalar(select(func.count()).select_from(User))
    finally:
        await engine.dispose()
    assert count is not None
    return count


async def test_serve_demo_twice_seeds_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = await serve_demo_once(data_dir)
    assert "ONAIR demo seeded" in first
    assert "/console" in first
    url = f"sqlite+aiosqlite:///{data_dir / 'onair.db'}"
    users = await count_users(url)
    assert users >= 4
    logins = (data_dir / "demo-logins.json").read_text()
    assert "admin" in logins

    second = await serve_demo_once(data_dir)
    assert "ONAIR demo already seeded" in second
    assert await count_users(url) == users
    assert (data_dir / "demo-logins.json").read_text() == logins


@pytest.fixture(params=["sqlite", "postgresql"])
def cli_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite under a fresh data dir, or an empty PostgreSQL database of this test's own."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'onair.db'}"
    url: str = request.getfixturevalue("fresh_pg_url")
    return url


async def test_user_and_token_create(tmp_path: Path, cli_database: str) -> None:
    env = cli_env(tmp_path / "data", ONAIR_DATABASE_URL=cli_database, ONAIR_SECRET_KEY=SECRET)
    settings = Settings(secret_key=SECRET, data_dir=tmp_path / "data", database_url=cli_database)
    if not settings.is_sqlite:
        code, _out, err = await run(["user", "create", "early", "--role", "host",
                                     "--password-stdin"], env, PASSWORD + "\n")
        assert code == 1
        assert "onair db upgrade" in err
        assert "Traceback" not in err
        code, out, err = await run(["db", "upgrade"], env)
        assert code == 0, err
        assert out.startswith("database at revision ")

    code, out, err = await run(["user", "create", "minji", "--role", "host", "--name", "민지",
                                "--password-stdin"], env, PASSWORD + "\n")
    assert code == 0, err
    assert out.startswith("created host minji (id ")

    # Independent commands run side by side; each is a whole interpreter start.
    taken, weak, minted = await asyncio.gather(
        run(["user", "create", "minji", "--role", "host", "--password-stdin"], env,
            PASSWORD + "\n"),
        run(["user", "create", "shorty", "--role", "host", "--password-stdin"], env, "short\n"),
        run(["token", "create", "erp", "--scope", "orders:read", "--scope", "catalog:write"],
            env),
    )
    assert taken[0] == 1
    assert "username_taken" in taken[2]
    assert weak[0] == 1
    assert "weak_password" in weak[2]
    code, out, err = minted
    assert code == 0, err
    token = out.strip()
    assert token.startswith("onair_")
    assert "shown once" in err

    engine = make_engine(cli_database)
    try:
        auth = AuthService(make_sessions(engine), settings)
        login = await auth.login("minji", PASSWORD)
        assert login.principal.roles == ("host",)
        who = await auth.bearer(token)
        assert who.permissions == frozenset({"orders:read", "catalog:write"})
    finally:
        await engine.dispose()


async def test_configuration_error_names_the_variable(tmp_path: Path) -> None:
    code, _out, err = await run(["db", "current"], cli_env(tmp_path, ONAIR_TICK_MS="fast"))
    assert code == 2
    assert err.strip() == "onair: configuration error: ONAIR_TICK_MS: expected a whole number, " \
        "got 'fast'"
