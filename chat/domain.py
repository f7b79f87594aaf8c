"""Chat rules: message text, badges, show chat settings, sanctions and who may speak; no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from server.auth.domain import Principal
from server.errors import Forbidden, Invalid, RateLimited, Unauthorized

MAX_CHARS = 200
NONCE_MAX = 64
# C0/C1 controls, zero-width space, direction marks and overrides, word joiner, BOM.
# ZWJ/ZWNJ stay: emoji sequences and some scripts need them.
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069"
    "\ufeff\ufff9-\ufffb]"
)
_SPACES = re.compile(r"\s+")


def clean_text(raw: object, max_chars: int = MAX_CHARS) -> str:
    """Strip control characters, fold runs of whitespace into one space, enforce the length.
    Errors: invalid_text, empty_message, message_too_long."""
    if not isinstance(raw, str):
        raise Invalid("invalid_text", "text must be a string")
    if len(raw) > max_chars * 4 + 64:
        raise Invalid("message_too_long", f"at most {max_chars} characters", max_chars=max_chars)
    text = _CONTROL.sub("", _SPACES.sub(" ", raw)).strip()
    if not text:
        raise Invalid("empty_message", "the message is empty")
    if len(text) > max_chars:
        raise Invalid("message_too_long", f"at most {max_chars} characters", max_chars=max_chars)
    return text


def clean_nonce(raw: object) -> str:
    """The client's idempotency nonce: 1-64 printable ASCII characters. Error: invalid_nonce."""
    if (
        not isinstance(raw, str) or not raw or len(raw) > NONCE_MAX
        or not raw.isascii() or not raw.isprintable()
    ):
        raise Invalid("invalid_nonce", f"nonce must be 1-{NONCE_MAX} printable ASCII characters")
    return raw


def badges_for(principal: Principal) -> tuple[str, ...]:
    """host (host/admin), moderator, staff (other console users and API tokens),
    or the viewer's tier from the shop token as `tier:<name>`."""
    if principal.is_staff:
        if "host" in principal.roles or "admin" in principal.roles:
            return ("host",)
        if "moderator" in principal.roles:
            return ("moderator",)
        return ("staff",)
    if principal.tier:
        return ("tier:" + principal.tier,)
    return ()


def is_moderator(principal: Principal) -> bool:
    return principal.is_staff and principal.can("chat:moderate")


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One accepted message. `id` is the hub's event id (0 until published)."""

    show_id: int
    user_id: str
    nickname: str
    badges: tuple[str, ...]
    text: str
    at: datetime
    id: int = 0
    reply_to: dict[str, Any] | None = None
    shadow: bool = False

    def payload(self) -> dict[str, Any]:
        """The wire shape: {id?, show_id, user_id, nickname, badges, text, reply_to?, at}."""
        out: dict[str, Any] = {
            "show_id": self.show_id,
            "user_id": self.user_id,
            "nickname": self.nickname,
            "badges": list(self.badges),
            "text": self.text,
            "at": iso(self.at),
        }
        if self.id:
            out["id"] = self.id
        if self.reply_to is not None:
            out["reply_to"] = self.reply_to
        return out

    def with_id(self, message_id: int) -> ChatMessage:
        return replace(self, id=message_id)

    def quote(self) -> dict[str, Any]:
        """What a reply carries of this message."""
        return {"id": self.id, "user_id": self.user_id, "nickname": self.nickname,
                "text": self.text[:80]}


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Mode(StrEnum):
    OPEN = "open"
    MEMBERS = "members"  # followers/members: viewers with a shop token, not guests
    ESTABLISHED = "established"  # viewers who joined the show at least N minutes ago


@dataclass(frozen=True, slots=True)
class ShowChatSettings:
    """Per-show chat switches the moderators flip live."""

    slow_seconds: int = 0
    mode: Mode = Mode.OPEN
    established_minutes: int = 0
    frozen: bool = False

    def changed(self, **changes: Any) -> ShowChatSettings:
        """Apply a partial update. Errors: invalid_setting."""
        unknown = set(changes) - {"slow_seconds", "mode", "established_minutes", "frozen"}
        if unknown:
            raise Invalid("invalid_setting", "unknown: " + ", ".join(sorted(unknown)))
        slow = changes.get("slow_seconds", self.slow_seconds)
        minutes = changes.get("established_minutes", self.established_minutes)
        frozen = changes.get("frozen", self.frozen)
        try:
            mode = Mode(changes.get("mode", self.mode))
        except ValueError:
            raise Invalid("invalid_setting", "mode is open, members or established") from None
        if not _is_int(slow) or not 0 <= slow <= 3600:
            raise Invalid("invalid_setting", "slow_seconds is 0-3600")
        if not _is_int(minutes) or not 0 <= minutes <= 1440:
            raise Invalid("invalid_setting", "established_minutes is 0-1440")
        if not isinstance(frozen, bool):
            raise Invalid("invalid_setting", "frozen is true or false")
        return ShowChatSettings(slow, mode, minutes, frozen)

    def as_dict(self) -> dict[str, Any]:
        return {"slow_seconds": self.slow_seconds, "mode": self.mode.value,
                "established_minutes": self.established_minutes, "frozen": self.frozen}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_may_speak(
    settings: ShowChatSettings, principal: Principal, joined_at: float | None, now: float
) -> None:
    """Freeze and audience modes; moderators are exempt.
    Errors: login_required, chat_frozen, members_only, established_only (retry_after)."""
    if principal.kind == "anonymous":
        raise Unauthorized("login_required", "connect with a viewer token to chat")
    if is_moderator(principal):
        return
    if settings.frozen:
        raise Forbidden("chat_frozen", "chat is paused")
    if settings.mode is Mode.MEMBERS and (principal.guest or not principal.is_viewer):
        raise Forbidden("members_only", "only members of the shop can chat now")
    if settings.mode is Mode.ESTABLISHED and not principal.is_staff:
        needed = settings.established_minutes * 60.0
        waited = 0.0 if joined_at is None else now - joined_at
        if waited < needed:
            raise RateLimited("established_only", "stay a little longer before chatting",
                              retry_after=needed - waited)


class SanctionKind(StrEnum):
    TIMEOUT = "timeout"
    BAN = "ban"


@dataclass(frozen=True, slots=True)
class Sanction:
    """A time-out or ban of a user; show_id None means shop-wide; until None means forever."""

    kind: SanctionKind
    user_id: str
    show_id: int | None
    until: float | None = None

    def active(self, now: float) -> bool:
        return self.until is None or now < self.until


@dataclass
class Sanctions:
    """The active sanctions this node knows, keyed for one lookup per message."""

    by_key: dict[tuple[int | None, str], list[Sanction]] = field(default_factory=dict)

    def add(self, sanction: Sanction) -> None:
        self.by_key.setdefault((sanction.show_id, sanction.user_id), []).append(sanction)

    def lift(self, show_id: int | None, user_id: str) -> None:
        self.by_key.pop((show_id, user_id), None)

    def check(self, show_id: int, user_id: str, now: float) -> None:
        """Errors: banned, timed_out (retry_after)."""
        if not self.by_key:
            return
        for key in ((None, user_id), (show_id, user_id)):
            for sanction in self.by_key.get(key, ()):
                if not sanction.active(now):
                    continue
                if sanction.kind is SanctionKind.BAN:
                    raise Forbidden("banned", "you cannot chat here")
                assert sanction.until is not None
                raise RateLimited("timed_out", "you are timed out",
                                  retry_after=sanction.until - now)

    def prune(self, now: float) -> None:
        for key in list(self.by_key):
            alive = [s for s in self.by_key[key] if s.active(now)]
            if alive:
                self.by_key[key] = alive
            else:
                del self.by_key[key]
