"""The `onair` command: serve, db upgrade/downgrade/current, user create, token create."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Sequence

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from server import migrate
from server.app import StartupError, create_app
from server.auth.domain import SCOPES, Role
from server.db import make_engine, redact_url
from server.errors import DomainError
from server.keys import HOOKS, SETTINGS, Hook
from server.logs import configure_logging
from server.settings import Settings, SettingsError, load_settings

log = logging.getLogger("onair")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onair", description="ONAIR live-commerce server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--demo", action="store_true", help="seed a demo shop and print logins")

    db = sub.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="migrate to the newest schema")
    down = db_sub.add_parser("downgrade", help="migrate back to a revision ('base' empties)")
    down.add_argument("revision")
    db_sub.add_parser("current", help="print the schema revision")

    user = sub.add_parser("user", help="console users")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    create = user_sub.add_parser("create", help="create a console user")
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--name", help="display name")
    create.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input")

    token = sub.add_parser("token", help="API tokens for integrations")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    tcreate = token_sub.add_parser("create", help="mint an API token (printed once)")
    tcreate.add_argument("name")
    tcreate.add_argument("--scope", action="append", required=True, choices=sorted(SCOPES),
                         help="repeat for several scopes")
    tcreate.add_argument("--expires-days", type=int)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        print(f"onair: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.json_logs)
    try:
        if args.command == "serve":
            return _serve(settings, args.host, args.port, args.demo)
        if args.command == "db":
            return asyncio.run(_db(settings, args))
        if args.command == "user":
            return asyncio.run(_user(settings, args))
        if args.command == "token":
            return asyncio.run(_token(settings, args))
    except StartupError as exc:
        print(f"onair: {exc}", file=sys.stderr)
        return 1
    except DomainError as exc:
        print(f"onair: {exc.code}: {exc.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2


def _serve(settings: Settings, host: str, port: int, demo: bool) -> int:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if settings.public_base_url == "http://127.0.0.1:8080" and (host, port) != ("127.0.0.1", 8080):
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        settings = settings.with_(public_base_url=f"http://{shown}:{port}")
    app = create_app(settings)
    if demo:
        app[HOOKS].append(_demo_hook(app))
    log.info("ONAIR on http://%s:%s (database %s, redis %s)", host, port,
             redact_url(settings.database_url),
             redact_url(settings.redis_url) if settings.redis_url else "off")
    web.run_app(app, host=host, port=port, print=None, access_log=None,
                handler_cancellation=True)
    return 0


def _demo_hook(app: web.Application) -> tuple[Hook, Hook]:
    """Seed and print the demo once the database answers (a start hook runs after the
    resources are up and before the server accepts requests)."""
    from server.demo import seed_demo

    async def start() -> None:
        info = await seed_demo(app)
        lines = ["", "ONAIR demo " + ("seeded" if info.created else "already seeded"), ""]
        lines += [f"  {label:<10} {url}" for label, url in info.urls]
        lines += ["", f"  logins (also in {app[SETTINGS].data_dir / 'demo-logins.json'}):"]
        lines += [f"    {name:<10} {password}" for name, password in info.logins.items()]
        print("\n".join(lines) + "\n", flush=True)

    async def stop() -> None:
        return None

    return start, stop


async def _db(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(settings.database_url)
    try:
        if args.db_command == "upgrade":
            await migrate.upgrade(engine)
            print(f"database at revision {await migrate.current_revision(engine)}")
        elif args.db_command == "downgrade":
            await migrate.downgrade(engine, args.revision)
            print(f"database at revision {await migrate.current_revision(engine)}")
        else:
            print(await migrate.current_revision(engine) or "empty")
    except OSError as exc:
        raise StartupError(
            f"cannot reach the database at {redact_url(settings.database_url)}: {exc}"
        ) from None
    finally:
        await engine.dispose()
    return 0


async def _user(settings: Settings, args: argparse.Namespace) -> int:
    from server.auth.service import SYSTEM, AuthService
    from server.db import make_sessions

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if password != getpass.getpass("again: "):
            print("onair: passwords differ", file=sys.stderr)
            return 1
    engine = make_engine(settings.database_url)
    try:
        await _require_schema(engine, settings)
        auth = AuthService(make_sessions(engine), settings)
        user = await auth.create_user(SYSTEM, args.username, password, args.role, args.name)
        print(f"created {user.role} {user.username} (id {user.id})")
    finally:
        await engine.dispose()
    return 0


async def _token(settings: Settings, args: argparse.Namespace) -> int:
    from server.auth.service import SYSTEM, AuthService
    from server.db import make_sessions

    engine = make_engine(settings.database_url)
    try:
        await _require_schema(engine, settings)
        auth = AuthService(make_sessions(engine), settings)
        token, token_id = await auth.create_token(SYSTEM, args.name, args.scope, args.expires_days)
        print(f"token {token_id} ({', '.join(sorted(args.scope))}); shown once:", file=sys.stderr)
        print(token)
    finally:
        await engine.dispose()
    return 0


async def _require_schema(engine: AsyncEngine, settings: Settings) -> None:
    if await migrate.is_current(engine):
        return
    if settings.is_sqlite:
        await migrate.upgrade(engine)
        return
    raise StartupError(
        f"the database at {redact_url(settings.database_url)} is not migrated: "
        "run `onair db upgrade`"
    )


if __name__ == "__main__":
    sys.exit(main())
