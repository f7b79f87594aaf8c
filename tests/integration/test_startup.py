"""Start-up refuses clearly: unreachable services, an unmigrated PostgreSQL; SQLite migrates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web

from server import migrate
from server.app import StartupError, create_app
from server.db import make_engine
from server.settings import Settings
from tests.conftest import StartNode, free_port


async def start_error(settings: Settings) -> str:
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    try:
        with pytest.raises(StartupError) as failed:
            await runner.setup()
    finally:
        await runner.cleanup()
    message = str(failed.value)
    assert "\n" not in message
    assert "Traceback" not in message
    return message


async def test_unreachable_postgresql_names_the_redacted_url(
    make_settings: Callable[..., Settings],
) -> None:
    port = free_port()  # nothing listens here
    url = f"postgresql+asyncpg://onair:s3cret-pw@127.0.0.1:{port}/onair"
    message = await start_error(make_settings(database_url=url))
    assert message.startswith("cannot reach the database at ")
    assert f"127.0.0.1:{port}/onair" in message
    assert "s3cret-pw" not in message
    assert "***" in message


async def test_unreachable_redis_names_the_redacted_url(
    make_settings: Callable[..., Settings],
) -> None:
    port = free_port()
    url = f"redis://:r3dis-pw@127.0.0.1:{port}/0"
    message = await start_error(make_settings(redis_url=url))
    assert message.startswith("cannot reach Redis at ")
    assert f"127.0.0.1:{port}" in message
    assert "r3dis-pw" not in message


async def test_unmigrated_postgresql_is_refused_with_the_command(
    make_settings: Callable[..., Settings], fresh_pg_url: str,
) -> None:
    message = await start_error(make_settings(database_url=fresh_pg_url))
    assert "not migrated" in message
    assert "onair db upgrade" in message
    # Refusing must not have created anything in the operator's database.
    engine = make_engine(fresh_pg_url)
    try:
        assert await migrate.current_revision(engine) is None
    finally:
        await engine.dispose()


async def test_migrated_postgresql_starts(
    start_node: StartNode, fresh_pg_url: str
) -> None:
    engine = make_engine(fresh_pg_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    node = await start_node(database_url=fresh_pg_url)
    async with node.http.get("/readyz") as resp:
        assert resp.status == 200


async def test_embedded_sqlite_migrates_itself(start_node: StartNode, tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "onair.db"
    url = f"sqlite+aiosqlite:///{path}"
    node = await start_node(database_url=url)
    async with node.http.get("/readyz") as resp:
        assert resp.status == 200
    engine = make_engine(url)
    try:
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()
