"""load_settings: good values parse; each malformed ONAIR_* variable stops with its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import SettingsError, load_settings

SECRET = "s" * 40
PG = "postgresql+asyncpg://onair:pw@db.internal:5432/onair"


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    base = {"ONAIR_DATA_DIR": str(tmp_path / "var")}
    base.update(values)
    return base


def test_defaults_are_embedded(tmp_path: Path) -> None:
    settings = load_settings(env(tmp_path))
    assert settings.is_sqlite
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'onair.db'}"
    assert settings.redis_url is None
    assert settings.ws_compression is False
    assert settings.languages == ("ko", "en")
    # The embedded secret is created once, private, and reused.
    key_file = tmp_path / "var" / "secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert load_settings(env(tmp_path)).secret_key == settings.secret_key


def test_every_variable_parses(tmp_path: Path) -> None:
    settings = load_settings(env(
        tmp_path,
        ONAIR_DATABASE_URL=PG, ONAIR_REDIS_URL="redis://cache:6379/2", ONAIR_SECRET_KEY=SECRET,
        ONAIR_PUBLIC_BASE_URL="https://live.example.com/", ONAIR_TIME_ZONE="Europe/Berlin",
        ONAIR_LANGUAGES="en", ONAIR_MAX_BODY_BYTES="2048", ONAIR_SHOP_JWT_SECRET="x" * 16,
        ONAIR_SESSION_DAYS="3", ONAIR_LOGIN_MAX_FAILURES="7", ONAIR_LOGIN_LOCKOUT_SECONDS="60",
        ONAIR_TICK_MS="20", ONAIR_WS_COMPRESSION="yes", ONAIR_JSON_LOGS="1",
        ONAIR_ACCESS_LOG="off", ONAIR_WHEP_MAX_VIEWERS="0", ONAIR_PRESENCE_TTL_SECONDS="5",
        ONAIR_ROOM_LOG_SIZE="100", ONAIR_REDIS_PREFIX="shop1:", ONAIR_NODE_ID="node-a",
        ONAIR_REDIS_POOL_SIZE="8",
    ))
    assert settings.database_url == PG
    assert not settings.is_sqlite
    assert settings.redis_url == "redis://cache:6379/2"
    assert settings.public_base_url == "https://live.example.com"
    assert settings.time_zone == "Europe/Berlin"
    assert settings.languages == ("en",)
    assert (settings.max_body_bytes, settings.session_days) == (2048, 3)
    assert (settings.login_max_failures, settings.login_lockout_seconds) == (7, 60)
    assert (settings.tick_ms, settings.whep_max_viewers) == (20, 0)
    assert (settings.presence_ttl_seconds, settings.room_log_size) == (5, 100)
    assert settings.ws_compression is True
    assert settings.json_logs is True
    assert settings.access_log is False
    assert (settings.redis_prefix, settings.node_id) == ("shop1:", "node-a")
    assert settings.redis_pool_size == 8


def test_variables_win_over_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "onair.toml"
    config.write_text('time_zone = "UTC"\ntick_ms = 40\nws_compression = true\n')
    settings = load_settings(env(tmp_path, ONAIR_CONFIG=str(config), ONAIR_TICK_MS="30"))
    assert settings.time_zone == "UTC"
    assert settings.tick_ms == 30
    assert settings.ws_compression is True


BAD = [
    ("ONAIR_DATABASE_URL", "mysql://db/onair"),
    ("ONAIR_DATABASE_URL", "postgresql+asyncpg:///no-host"),
    ("ONAIR_REDIS_URL", "http://cache:6379"),
    ("ONAIR_REDIS_URL", "redis://"),
    ("ONAIR_PUBLIC_BASE_URL", "live.example.com"),
    ("ONAIR_TIME_ZONE", "Mars/Olympus_Mons"),
    ("ONAIR_LANGUAGES", "ko,fr"),
    ("ONAIR_LANGUAGES", " , "),
    ("ONAIR_MAX_BODY_BYTES", "1MB"),
    ("ONAIR_MAX_BODY_BYTES", "10"),
    ("ONAIR_SESSION_DAYS", "0"),
    ("ONAIR_LOGIN_MAX_FAILURES", "-1"),
    ("ONAIR_LOGIN_LOCKOUT_SECONDS", "soon"),
    ("ONAIR_TICK_MS", "1"),
    ("ONAIR_WHEP_MAX_VIEWERS", "many"),
    ("ONAIR_PRESENCE_TTL_SECONDS", "1"),
    ("ONAIR_ROOM_LOG_SIZE", "5"),
    ("ONAIR_REDIS_POOL_SIZE", "1"),
    ("ONAIR_REDIS_POOL_SIZE", "lots"),
    ("ONAIR_WS_COMPRESSION", "maybe"),
    ("ONAIR_JSON_LOGS", "2"),
    ("ONAIR_ACCESS_LOG", "loud"),
    ("ONAIR_SHOP_JWT_SECRET", "short"),
    ("ONAIR_SECRET_KEY", "too-short"),
]


@pytest.mark.parametrize(("name", "value"), BAD, ids=[f"{n}={v}" for n, v in BAD])
def test_malformed_variable_is_named(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError) as failed:
        load_settings(env(tmp_path, **{name: value}))
    message = str(failed.value)
    assert message.startswith(name + ":")
    assert "\n" not in message


def test_shared_database_needs_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^ONAIR_SECRET_KEY: required"):
        load_settings(env(tmp_path, ONAIR_DATABASE_URL=PG))


def test_unwritable_data_dir_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(SettingsError, match=r"^ONAIR_DATA_DIR: cannot write"):
        load_settings({"ONAIR_DATA_DIR": str(blocker / "var")})


@pytest.mark.parametrize("content", ["tick_ms = ", 'colour = "blue"\n'],
                         ids=["bad-toml", "unknown"])
def test_bad_config_file_is_named(tmp_path: Path, content: str) -> None:
    config = tmp_path / "onair.toml"
    config.write_text(content)
    with pytest.raises(SettingsError, match=r"^ONAIR_CONFIG: "):
        load_settings(env(tmp_path, ONAIR_CONFIG=str(config)))


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^ONAIR_CONFIG: cannot read"):
        load_settings(env(tmp_path, ONAIR_CONFIG=str(tmp_path / "absent.toml")))

