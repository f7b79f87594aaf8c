"""Moderation and host tools: hide, time-out, ban, modes, announcement, highlight, the
blocked-words and link lists. Every action is checked (chat:moderate) and audited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chat.domain import Sanction, SanctionKind, clean_text, iso
from chat.history import History
from chat.service import Publisher, error_ack
from chat.state import ChatState
from chat.store import ChatStore
from chat.words import WordAction, check_domain, check_word
from server.auth.domain import Principal
from server.errors import DomainError, Invalid, NotFound

ACTIONS = ("hide", "hide_user", "timeout", "ban", "unban", "settings", "announce", "highlight")
MAX_TIMEOUT = 7 * 86400


class ModerationService:
    def __init__(
        self, hub: Publisher, state: ChatState, store: ChatStore, history: History,
        clock: Callable[[], float],
    ) -> None:
        self.hub = hub
        self.state = state
        self.store = store
        self.history = history
        self.clock = clock

    async def handle(self, actor: Principal, show_id: int | None, data: Any) -> dict[str, Any]:
        """Socket event `chat_moderate` on /console, and POST .../chat/moderation:
        {action, ...}; ack {"ok": true, ...} or {"ok": false, "error": code}."""
        try:
            if not isinstance(data, dict):
                raise Invalid("invalid_payload", "send an object {action, ...}")
            return {"ok": True, **await self.act(actor, show_id, data)}
        except DomainError as exc:
            return error_ack(exc)

    async def act(self, actor: Principal, show_id: int | None, data: dict[str, Any]
                  ) -> dict[str, Any]:
        """One moderation action. Errors: permission_denied, invalid_action, not_joined,
        invalid_user, invalid_message, invalid_setting, message_not_found, ..."""
        actor.require("chat:moderate")
        action = data.get("action")
        if action not in ACTIONS:
            raise Invalid("invalid_action", "action is one of " + ", ".join(ACTIONS))
        scope = data.get("scope", "show")
        if scope not in ("show", "shop"):
            raise Invalid("invalid_scope", "scope is show or shop")
        if show_id is None and not (action in ("ban", "unban") and scope == "shop"):
            raise Invalid("not_joined", "name the show")
        handler = getattr(self, "_" + str(action))
        result: dict[str, Any] = await handler(actor, show_id, data)
        return result

    async def _audit(self, actor: Principal, show_id: int | None, action: str,
                     **fields: Any) -> None:
        target, message_id = fields.pop("user_id", None), fields.pop("message_id", None)
        await self.store.audit(actor, action, show_id=show_id, target_user_id=target,
                               message_id=message_id, detail=fields)
        if show_id is not None:
            await self.hub.publish(show_id, "chat_moderation", {
                "action": action, "actor": actor.name, "user_id": target,
                "message_id": message_id, "detail": fields, "at": iso(self._now()),
            }, staff_only=True, logged=False)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def _hide(self, actor: Principal, show_id: int, data: dict[str, Any]) -> dict[str, Any]:
        message_id = _message_id(data.get("message_id"))
        entry = await self.history.find(show_id, message_id)
        await self._hide_in_stores(show_id, [message_id], None)
        await self.hub.publish(show_id, "chat_hidden", {"ids": [message_id], "user_id": None})
        await self._audit(actor, show_id, "hide", message_id=message_id,
                          user_id=entry["user_id"] if entry else None)
        return {"hidden": [message_id]}

    async def _hide_user(self, actor: Principal, show_id: int, data: dict[str, Any]
                         ) -> dict[str, Any]:
        user_id = _user_id(data.get("user_id"))
        await self._hide_in_stores(show_id, [], user_id)
        await self.hub.publish(show_id, "chat_hidden", {"ids": [], "user_id": user_id})
        await self._audit(actor, show_id, "hide_user", user_id=user_id)
        return {"user_id": user_id}

    async def _hide_in_stores(self, show_id: int, ids: list[int], user_id: str | None) -> None:
        # Event ids are max(µs clock, last + 1): this bounds everything sent so far.
        upto = max(int(self.clock() * 1_000_000), await self.history.latest(show_id)) + 1
        await self.history.hide(show_id, ids, user_id, upto)
        await self.state.publish({"op": "hide", "show_id": show_id, "ids": ids,
                                  "user_id": user_id, "upto": upto})

    async def _timeout(self, actor: Principal, show_id: int, data: dict[str, Any]
                       ) -> dict[str, Any]:
        user_id = _user_id(data.get("user_id"))
        seconds = data.get("seconds", 300)
        if not isinstance(seconds, int) or isinstance(seconds, bool) or not (
            1 <= seconds <= MAX_TIMEOUT
        ):
            raise Invalid("invalid_duration", f"seconds is 1-{MAX_TIMEOUT}")
        until = self.clock() + seconds
        sanction = Sanction(SanctionKind.TIMEOUT, user_id, show_id, until)
        await self._sanction(actor, sanction, _reason(data))
        await self._audit(actor, show_id, "timeout", user_id=user_id, seconds=seconds,
                          reason=_reason(data))
        return {"user_id": user_id, "until": until}

    async def _ban(self, actor: Principal, show_id: int | None, data: dict[str, Any]
                   ) -> dict[str, Any]:
        user_id = _user_id(data.get("user_id"))
        target = None if data.get("scope") == "shop" else show_id
        await self._sanction(actor, Sanction(SanctionKind.BAN, user_id, target), _reason(data))
        await self._audit(actor, target, "ban", user_id=user_id, scope=data.get("scope", "show"),
                          reason=_reason(data))
        return {"user_id": user_id, "scope": "shop" if target is None else "show"}

    async def _sanction(self, actor: Principal, sanction: Sanction, reason: str) -> None:
        await self.store.add_sanction(sanction, reason, actor)
        await self.state.publish({"op": "sanction", "kind": sanction.kind.value,
                                  "user_id": sanction.user_id, "show_id": sanction.show_id,
                                  "until": sanction.until})

    async def _unban(self, actor: Principal, show_id: int | None, data: dict[str, Any]
                     ) -> dict[str, Any]:
        """Lifts bans and time-outs in the scope."""
        user_id = _user_id(data.get("user_id"))
        target = None if data.get("scope") == "shop" else show_id
        lifted = await self.store.lift_sanctions(target, user_id)
        await self.state.publish({"op": "lift", "show_id": target, "user_id": user_id})
        await self._audit(actor, target, "unban", user_id=user_id,
                          scope="shop" if target is None else "show")
        return {"user_id": user_id, "lifted": lifted}

    async def _settings(self, actor: Principal, show_id: int, data: dict[str, Any]
                        ) -> dict[str, Any]:
        changes = {k: v for k, v in data.items() if k not in ("action", "scope")}
        chat = await self.state.show(show_id)
        chat = replace(chat, settings=chat.settings.changed(**changes))
        await self._save(show_id, chat)
        await self.hub.publish(show_id, "chat_settings", chat.settings.as_dict())
        await self._audit(actor, show_id, "settings", **changes)
        return {"settings": chat.settings.as_dict()}

    async def _announce(self, actor: Principal, show_id: int, data: dict[str, Any]
                        ) -> dict[str, Any]:
        """{text} pins an announcement at the top; {text: null} removes it."""
        raw = data.get("text")
        announcement = None if raw is None else {
            "text": clean_text(raw, 500), "by": actor.name, "at": iso(self._now())}
        chat = replace(await self.state.show(show_id), announcement=announcement)
        await self._save(show_id, chat)
        await self.hub.publish(show_id, "chat_announcement", {"announcement": announcement})
        await self._audit(actor, show_id, "announce", text=announcement and announcement["text"])
        return {"announcement": announcement}

    async def _highlight(self, actor: Principal, show_id: int, data: dict[str, Any]
                         ) -> dict[str, Any]:
        """{message_id} highlights a recent message for everyone; {message_id: null} clears."""
        raw = data.get("message_id")
        highlighted = None
        if raw is not None:
            highlighted = await self.history.find(show_id, _message_id(raw))
            if highlighted is None:
                raise NotFound("message_not_found", "only recent messages can be highlighted")
        chat = replace(await self.state.show(show_id), highlighted=highlighted)
        await self._save(show_id, chat)
        await self.hub.publish(show_id, "chat_highlight", {"message": highlighted})
        await self._audit(actor, show_id, "highlight", message_id=raw,
                          user_id=highlighted and highlighted["user_id"])
        return {"highlighted": highlighted}

    async def _save(self, show_id: int, chat: Any) -> None:
        await self.store.save_show(show_id, chat)
        await self.state.publish(ChatState.show_message(show_id, chat))

    async def add_word(self, actor: Principal, word: str, action: str) -> dict[str, Any]:
        """Add a blocked word with its action (block, shadow, mask); live on every node.
        Errors: invalid_word, invalid_action, word_exists."""
        actor.require("chat:moderate")
        clean = check_word(word)
        try:
            act = WordAction(action)
        except ValueError:
            raise Invalid("invalid_action", "action is block, shadow or mask") from None
        word_id = await self.store.add_word(clean, act, actor)
        await self._words_changed()
        await self._audit(actor, None, "word_add", word=clean, word_action=act.value)
        return {"id": word_id, "word": clean, "action": act.value}

    async def remove_word(self, actor: Principal, word_id: int) -> None:
        """Errors: word_not_found."""
        actor.require("chat:moderate")
        word = await self.store.remove_word(word_id)
        if word is None:
            raise NotFound("word_not_found", "no such blocked word")
        await self._words_changed()
        await self._audit(actor, None, "word_remove", word=word)

    async def _words_changed(self) -> None:
        entries = await self.store.word_entries()
        await self.state.publish({"op": "words",
                                  "words": [[e.word, e.action.value] for e in entries]})

    async def set_domains(self, actor: Principal, domains: list[str]) -> list[str]:
        """Replace the allow-list of link domains. Errors: invalid_domain."""
        actor.require("chat:moderate")
        clean = sorted({check_domain(d) for d in domains})
        await self.store.set_domains(clean, actor)
        await self.state.publish({"op": "domains", "domains": clean})
        await self._audit(actor, None, "links", domains=clean)
        return clean


def _user_id(raw: object) -> str:
    if not isinstance(raw, str) or not raw or len(raw) > 80:
        raise Invalid("invalid_user", "user_id is a viewer id")
    return raw


def _message_id(raw: object) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw <= 0:
        raise Invalid("invalid_message", "message_id is a message id")
    return raw


def _reason(data: dict[str, Any]) -> str:
    reason = data.get("reason") or ""
    return reason[:200] if isinstance(reason, str) else ""
