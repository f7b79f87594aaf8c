"""Settings: one frozen object, built once from ONAIR_* variables by the CLI."""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGUAGES = ("ko", "en")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server needs to know about its environment."""

    secret_key: str
    data_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str | None = None
    public_base_url: str = "http://127.0.0.1:8080"
    time_zone: str = "Asia/Seoul"
    languages: tuple[str, ...] = LANGUAGES
    max_body_bytes: int = 1_048_576
    shop_jwt_secret: str | None = None
    session_days: int = 14
    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    tick_ms: int = 50
    ws_compression: bool = False
    json_logs: bool = False
    access_log: bool = True
    whep_max_viewers: int = 50
    presence_ttl_seconds: int = 10
    room_log_size: int = 5000
    redis_prefix: str = "onair:"
    redis_pool_size: int = 32
    node_id: str = field(default_factory=lambda: secrets.token_hex(4))

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite+aiosqlite:///{self.data_dir / 'onair.db'}"
            )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


_ENV_NAMES = {f.name: "ONAIR_" + f.name.upper() for f in fields(Settings)}


def _as_int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name}: must be at least {minimum}, got {value}")
    return value


def _as_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name}: expected true or false, got {raw!r}")


def _check_url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in schemes:
        allowed = ", ".join(schemes)
        raise SettingsError(f"{name}: scheme must be one of {allowed}, got {raw!r}")
    if not parts.scheme.startswith("sqlite") and not parts.hostname:
        raise SettingsError(f"{name}: no host in {raw!r}")
    return raw


def secret_from_file(data_dir: Path) -> str:
    """Read the embedded secret key, creating it (mode 0600) on first use."""
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build settings from ONAIR_* variables and an optional TOML file (ONAIR_CONFIG).

    Variables win over the file. Raises SettingsError naming the variable at fault.
    """
    raw: dict[str, str] = {}
    config_path = environ.get("ONAIR_CONFIG")
    if config_path:
        try:
            with open(config_path, "rb") as handle:
                table = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"ONAIR_CONFIG: cannot read {config_path}: {exc}") from None
        for key, value in table.items():
            if key not in _ENV_NAMES:
                raise SettingsError(f"ONAIR_CONFIG: unknown setting {key!r}")
            raw[key] = str(value).lower() if isinstance(value, bool) else str(value)
    for name, env_name in _ENV_NAMES.items():
        if env_name in environ:
            raw[name] = environ[env_name]

    values: dict[str, Any] = {}
    data_dir = Path(raw.get("data_dir") or "var")
    values["data_dir"] = data_dir
    if raw.get("database_url"):
        values["database_url"] = _check_url(
            "ONAIR_DATABASE_URL",
            raw["database_url"],
            ("sqlite+aiosqlite", "postgresql+asyncpg"),
        )
    if raw.get("redis_url"):
        values["redis_url"] = _check_url("ONAIR_REDIS_URL", raw["redis_url"], ("redis", "rediss"))
    if "public_base_url" in raw:
        values["public_base_url"] = _check_url(
            "ONAIR_PUBLIC_BASE_URL", raw["public_base_url"], ("http", "https")
        ).rstrip("/")
    if "time_zone" in raw:
        try:
            ZoneInfo(raw["time_zone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"ONAIR_TIME_ZONE: unknown time zone {raw['time_zone']!r}"
            ) from None
        values["time_zone"] = raw["time_zone"]
    if "languages" in raw:
        langs = tuple(part.strip() for part in raw["languages"].split(",") if part.strip())
        unknown = [lang for lang in langs if lang not in LANGUAGES]
        if not langs or unknown:
            raise SettingsError(
                f"ONAIR_LANGUAGES: expected a comma list of {', '.join(LANGUAGES)}, "
                f"got {raw['languages']!r}"
            )
        values["languages"] = langs
    int_limits = {
        "max_body_bytes": 1024,
        "session_days": 1,
        "login_max_failures": 1,
        "login_lockout_seconds": 1,
        "tick_ms": 5,
        "whep_max_viewers": 0,
        "presence_ttl_seconds": 2,
        "room_log_size": 100,
        "redis_pool_size": 2,
    }
    for name, minimum in int_limits.items():
        if name in raw:
            values[name] = _as_int(_ENV_NAMES[name], raw[name], minimum)
    for name in ("ws_compression", "json_logs", "access_log"):
        if name in raw:
            values[name] = _as_bool(_ENV_NAMES[name], raw[name])
    if raw.get("shop_jwt_secret"):
        if len(raw["shop_jwt_secret"]) < 16:
            raise SettingsError("ONAIR_SHOP_JWT_SECRET: must be at least 16 characters")
        values["shop_jwt_secret"] = raw["shop_jwt_secret"]
    if raw.get("redis_prefix"):
        values["redis_prefix"] = raw["redis_prefix"]
    if raw.get("node_id"):
        values["node_id"] = raw["node_id"]

    secret = raw.get("secret_key")
    if secret:
        if len(secret) < 32:
            raise SettingsError("ONAIR_SECRET_KEY: must be at least 32 characters")
    else:
        is_embedded = str(values.get("database_url", "sqlite")).startswith("sqlite")
        if not is_embedded:
            raise SettingsError(
                "ONAIR_SECRET_KEY: required when ONAIR_DATABASE_URL points to a shared database"
            )
        try:
            secret = secret_from_file(data_dir)
        except OSError as exc:
            raise SettingsError(f"ONAIR_DATA_DIR: cannot write {data_dir}: {exc}") from None
    return Settings(secret_key=secret, **values)
