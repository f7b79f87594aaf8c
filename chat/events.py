"""Socket.IO events of chat, registered on the real-time hub (thin: parse, call, ack).

/live and /console
  `chat` {text, nonce, reply_to?} -> {"ok": true, "id": n}
      | {"ok": false, "error": code, "retry_after"?: seconds}
/console
  `chat_moderate` {action, ...} -> {"ok": true, ...} | {"ok": false, "error": code}
      actions: hide {message_id}, hide_user {user_id}, timeout {user_id, seconds, reason?},
      ban {user_id, scope: show|shop, reason?}, unban {user_id, scope},
      settings {slow_seconds?, mode?, established_minutes?, frozen?},
      announce {text | null}, highlight {message_id | null}
Server to client (all through the hub): `chat` (coalesced into `tick`), `chat_hidden`
{ids, user_id}, `chat_settings`, `chat_announcement` {announcement}, `chat_highlight`
{message}; to /console only: `chat_moderation` (the audit line of each action).
"""

from __future__ import annotations

from typing import Any

from chat.moderation import ModerationService
from chat.service import ChatService
from server.auth.domain import Principal


def _int_or_none(raw: Any) -> int | None:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return raw
    if isinstance(raw, str) and raw.isdigit() and 0 < len(raw) <= 10:
        return int(raw)
    return None


def attach(hub: Any, chat: ChatService, moderation: ModerationService) -> None:
    async def send(ctx: Any, data: Any) -> dict[str, Any]:
        return await chat.send(ctx, data)

    async def moderate(ctx: Any, data: Any) -> dict[str, Any]:
        show_id = _int_or_none(ctx.show_id)
        if show_id is None and isinstance(data, dict):
            show_id = _int_or_none(data.get("show_id"))
        return await moderation.handle(ctx.principal, show_id, data)

    async def joined(ctx: Any) -> None:
        show_id = _int_or_none(ctx.show_id)
        principal: Principal = ctx.principal
        if show_id is not None and principal.is_viewer:
            await chat.state.joined(show_id, principal.id)

    async def snapshot(show_id: Any, principal: Principal) -> dict[str, Any]:
        sid = _int_or_none(show_id)
        return {} if sid is None else await chat.snapshot(sid, principal)

    async def stats(show_id: Any) -> dict[str, Any]:
        sid = _int_or_none(show_id)
        return {} if sid is None else await chat.stats(sid)

    hub.on("/live", "chat", send)
    hub.on("/console", "chat", send)
    hub.on("/console", "chat_moderate", moderate)
    hub.on_join(joined)
    hub.add_state_provider(snapshot)
    hub.add_stats_provider(stats)
