"""Socket.IO handlers of `/live` (viewers) and `/console` (staff): connect, join, leave, heart.

Every handler validates its payload and answers with an ack; none raises (a raising
Socket.IO handler sends no ack). Errors: `{"ok": false, "error": code, "detail": ...}`.
"""

from __future__ import annotations

import asyncio
import logging
from http.cookies import CookieError, SimpleCookie
from typing import Any

from socketio.exceptions import ConnectionRefusedError as Refused

from server.auth.domain import Principal
from server.auth.middleware import SESSION_COOKIE
from server.auth.service import AuthService
from server.errors import Conflict, DomainError, Invalid, Unauthorized
from server.realtime import loops
from server.realtime.fanout import CONSOLE, LIVE, Conn
from server.realtime.hub import Hub, error_ack
from server.realtime.payloads import HeartIn, JoinIn, LeaveIn, parse
from server.realtime.websocket import speed_up

log = logging.getLogger("onair.realtime")

STAFF_PERMISSION = "shows:read"


def install(hub: Hub, auth: AuthService) -> None:
    """Register the namespaces' handlers on the hub's Socket.IO server."""
    sio = hub.sio

    async def connect_live(sid: str, environ: dict[str, Any], data: Any = None) -> None:
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise Refused("token_required", {"code": "token_required"})
        try:
            principal = auth.viewer(token)
        except DomainError as exc:
            raise Refused(exc.code, {"code": exc.code}) from None
        _connected(hub, sid, LIVE, principal, environ)

    async def connect_console(sid: str, environ: dict[str, Any], data: Any = None) -> None:
        token = data.get("token") if isinstance(data, dict) else None
        try:
            principal = await _staff(auth, token, environ)
        except DomainError as exc:
            raise Refused(exc.code, {"code": exc.code}) from None
        _connected(hub, sid, CONSOLE, principal, environ)

    sio.on("connect", connect_live, namespace=LIVE)
    sio.on("connect", connect_console, namespace=CONSOLE)
    for namespace in (LIVE, CONSOLE):
        sio.on("disconnect", _disconnect_handler(hub), namespace=namespace)
        sio.on("join", _guarded(hub, lambda conn, data: join(hub, conn, data)),
               namespace=namespace)
        sio.on("leave", _guarded(hub, lambda conn, data: leave_event(hub, conn, data)),
               namespace=namespace)
        sio.on("*", _unknown, namespace=namespace)
    sio.on("heart", _guarded(hub, lambda conn, data: heart(hub, conn, data)), namespace=LIVE)

    def register(namespace: str, event: str) -> None:
        handler = hub.handlers[(namespace, event)]
        sio.on(event, _guarded(hub, handler), namespace=namespace)

    hub.on_register = register
    for namespace, event in hub.handlers:
        register(namespace, event)


def _connected(
    hub: Hub, sid: str, namespace: str, principal: Principal, environ: dict[str, Any]
) -> None:
    eio_sid = hub.sio.manager.eio_sid_from_sid(sid, namespace)
    request = environ.get("aiohttp.request")
    ip = (request.remote if request is not None else None) or environ.get("REMOTE_ADDR", "")
    sock = hub.sio.eio._get_socket(eio_sid)
    speed_up(sock)
    hub.conns[sid] = Conn(sid, namespace, principal, ip, sock)


async def _staff(auth: AuthService, token: Any, environ: dict[str, Any]) -> Principal:
    if isinstance(token, str) and token:
        principal = await auth.bearer(token[:4096])
    else:
        staff = await auth.session(_cookie(environ.get("HTTP_COOKIE", ""), SESSION_COOKIE))
        if staff is None:
            raise Unauthorized("login_required", "sign in or send an API token")
        principal = staff.principal
    if not principal.is_staff:
        raise Unauthorized("staff_only", "the console namespace is for staff")
    principal.require(STAFF_PERMISSION)
    return principal


def _cookie(header: str, name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def _disconnect_handler(hub: Hub) -> Any:
    async def disconnect(sid: str, reason: Any = None) -> None:
        conn = hub.conns.pop(sid, None)
        if conn is not None and conn.show_id is not None:
            try:
                await leave(hub, conn)
            except Exception:
                log.exception("leave on disconnect failed for %s", sid)

    return disconnect


def _guarded(hub: Hub, handler: Any) -> Any:
    """Wrap a handler so that it always answers: the dict it returns, or an error ack."""

    async def event(sid: str, *args: Any) -> dict[str, Any]:
        conn = hub.conns.get(sid)
        if conn is None:
            return {"ok": False, "error": "not_connected"}
        data = args[0] if len(args) == 1 else (None if not args else list(args))
        try:
            ack = await handler(conn, data)
        except DomainError as exc:
            return error_ack(exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("socket handler failed on %s", conn.namespace)
            return {"ok": False, "error": "internal_error"}
        if not isinstance(ack, dict):
            return {"ok": True}
        if "ok" not in ack:
            ack = {"ok": True, **ack}
        return ack

    return event


async def _unknown(event: str, sid: str, *args: Any) -> dict[str, Any]:
    return {"ok": False, "error": "unknown_event", "detail": f"no event {event[:40]!r} here"}


async def join(hub: Hub, conn: Conn, data: Any) -> dict[str, Any]:
    """`join` {show_id, after?} → {ok, state, missed: [[name, payload], ...], reset, cursor}."""
    body = parse(JoinIn, data)
    if conn.sid in hub.joining:
        raise Conflict("join_in_progress", "wait for the previous join to answer")
    hub.joining.add(conn.sid)
    try:
        return await _join(hub, conn, body)
    finally:
        hub.joining.discard(conn.sid)


async def _join(hub: Hub, conn: Conn, body: JoinIn) -> dict[str, Any]:
    show_id = body.show_id
    if hub.show_checker is not None:
        await hub.show_checker(show_id, conn.principal)
    if conn.show_id is not None:
        await leave(hub, conn)
    if hub.conns.get(conn.sid) is not conn:
        return {"ok": False, "error": "not_connected"}
    is_viewer = conn.namespace == LIVE
    hub.fanout.add(conn, show_id)
    try:
        if is_viewer:
            hub.counters.changed(show_id, +1)
            hub.presence_dirty.add(show_id)
        if hub.counters.shared and hub.counters.of(show_id).version == 0:
            await loops.sync_viewers(hub, show_id)  # first sight of this show on this node
        hub.fanout.set_viewers(show_id, hub.viewers(show_id))
        # The log first, then the state: the snapshot is at least as new as the cursor.
        missed = await hub.read_log(show_id, body.after, conn.is_console)
        state: dict[str, Any] = {}
        for provider in hub.state_providers:
            try:
                state.update(await provider(show_id, conn.principal))
            except (DomainError, asyncio.CancelledError):
                raise
            except Exception:
                log.exception("a state provider failed for show %s", show_id)
        state["viewers"] = hub.viewers(show_id)
        state["hearts"] = await hub.counters.load_hearts(show_id)
        for hook in hub.join_hooks:
            await hook(conn)
    except BaseException:
        _remove(hub, conn)
        raise
    # The ack is queued as soon as this returns (no await in between); what the room sent
    # meanwhile waits in conn.held and follows it.
    asyncio.get_running_loop().call_soon(hub.fanout.release, conn)
    return {
        "ok": True,
        "state": state,
        "missed": [[name, payload] for _, name, payload in missed.entries],
        "reset": missed.reset,
        "cursor": missed.last,
    }


async def leave_event(hub: Hub, conn: Conn, data: Any) -> dict[str, Any]:
    """`leave` {show_id?} → {ok}."""
    body = parse(LeaveIn, data)
    if body.show_id is not None and body.show_id != conn.show_id:
        raise Invalid("not_joined", "this socket has not joined that show")
    if conn.show_id is not None:
        await leave(hub, conn)
    return {"ok": True}


async def leave(hub: Hub, conn: Conn) -> None:
    try:
        for hook in hub.leave_hooks:
            try:
                await hook(conn)
            except Exception:
                log.exception("a leave hook failed")
    finally:
        _remove(hub, conn)


def _remove(hub: Hub, conn: Conn) -> None:
    show_id = conn.show_id
    if show_id is None:
        return
    hub.fanout.remove(conn)
    if conn.namespace == LIVE:
        hub.counters.changed(show_id, -1)
        hub.presence_dirty.add(show_id)
        hub.fanout.set_viewers(show_id, hub.viewers(show_id))


async def heart(hub: Hub, conn: Conn, data: Any) -> dict[str, Any]:
    """`heart` {count: 1..50} → {ok}; needs a joined show."""
    body = parse(HeartIn, data)
    if conn.show_id is None:
        raise Invalid("not_joined", "join a show first")
    hub.add_hearts(conn.show_id, body.count)
    return {"ok": True}
