"""Migrations go up and down on SQLite and PostgreSQL, and match the models exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from server import migrate
from server.db import make_engine
from server.tables import metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of this test's own (never the shared one)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
    url: str = request.getfixturevalue("fresh_pg_url")
    return url


@pytest.fixture
async def empty_engine(empty_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(empty_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def table_names(engine: AsyncEngine) -> set[str]:
    def read(conn: Connection) -> set[str]:
        return set(inspect(conn).get_table_names())

    async with engine.connect() as conn:
        return await conn.run_sync(read)


def revisions() -> list[str]:
    """Every revision from the first to head, in order."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


async def test_up_and_down_and_up_again(empty_engine: AsyncEngine) -> None:
    model_tables = set(metadata.tables)
    assert await table_names(empty_engine) == set()

    await migrate.upgrade(empty_engine)
    assert await migrate.current_revision(empty_engine) == migrate.head_revision()
    assert await migrate.is_current(empty_engine)
    assert model_tables <= await table_names(empty_engine)

    await migrate.downgrade(empty_engine, "base")
    assert await migrate.current_revision(empty_engine) is None
    assert await table_names(empty_engine) <= {"alembic_version"}

    await migrate.upgrade(empty_engine)
    assert model_tables <= await table_names(empty_engine)


async def test_each_revision_steps_down_and_up(empty_engine: AsyncEngine) -> None:
    steps = revisions()
    assert steps[0] == "0001"
    for revision in steps:
        await migrate.upgrade(empty_engine, revision)
        assert await migrate.current_revision(empty_engine) == revision
    for index in range(len(steps) - 1, 0, -1):
        await migrate.downgrade(empty_engine, steps[index - 1])
        assert await migrate.current_revision(empty_engine) == steps[index - 1]
        await migrate.upgrade(empty_engine, steps[index])
        await migrate.downgrade(empty_engine, steps[index - 1])
    await migrate.downgrade(empty_engine, "base")
    assert await table_names(empty_engine) <= {"alembic_version"}


async def test_migrated_schema_matches_the_models(empty_engine: AsyncEngine) -> None:
    await migrate.upgrade(empty_engine)

    def diff(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with empty_engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []
