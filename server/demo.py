"""`onair serve --demo`: seed a demo shop once (logins, products, a show) and print it."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from server.auth.service import SYSTEM
from server.keys import AUTH, SETTINGS

DEMO_USERS = (
    ("admin", "admin", "Demo Admin"),
    ("host", "host", "쇼호스트 민지"),
    ("marketer", "marketer", "Demo Marketer"),
    ("moderator", "moderator", "Demo Moderator"),
)


@dataclass
class DemoInfo:
    logins: dict[str, str]
    created: bool
    urls: list[tuple[str, str]] = field(default_factory=list)


def _load_or_make_passwords(path: Path) -> dict[str, str]:
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    passwords = {name: "demo-" + secrets.token_urlsafe(9) for name, _, _ in DEMO_USERS}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(passwords, handle)
    return passwords


async def seed_demo(app: web.Application) -> DemoInfo:
    """Create the demo users and content unless they exist; safe to run again."""
    settings = app[SETTINGS]
    auth = app[AUTH]
    passwords = _load_or_make_passwords(settings.data_dir / "demo-logins.json")
    created = False
    for username, role, display in DEMO_USERS:
        if await auth.find_user(username) is None:
            await auth.create_user(SYSTEM, username, passwords[username], role, display)
            created = True
    base = settings.public_base_url
    info = DemoInfo(logins=passwords, created=created)
    info.urls.append(("console", f"{base}/console"))
    for seeder in app.get(DEMO_SEEDERS, []):
        created = await seeder(app, info) or created
    info.created = created
    return info


# A context's seeder adds its demo content (once) and its URLs to the info;
# it returns whether it created anything.
DemoSeeder = Callable[[web.Application, DemoInfo], Awaitable[bool]]
DEMO_SEEDERS: web.AppKey[list[DemoSeeder]] = web.AppKey("demo_seeders")
