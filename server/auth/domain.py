"""Roles, scopes and the principal every service checks before it acts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from server.errors import Forbidden, Invalid, Unauthorized


class Role(StrEnum):
    ADMIN = "admin"
    HOST = "host"
    MARKETER = "marketer"
    MODERATOR = "moderator"


# Permissions double as API token scopes.
SCOPES: dict[str, str] = {
    "shows:read": "read shows, lineups and stats",
    "shows:write": "create and edit shows and lineups",
    "shows:control": "rehearse, go live, end, pin products",
    "catalog:read": "read products and stock",
    "catalog:write": "create and update products and stock",
    "chat:moderate": "hide messages, time out and ban users, chat modes",
    "chat:read": "read chat history and export it",
    "coupons:write": "build cue sheets, drops and giveaways",
    "orders:read": "read orders and the events feed",
    "orders:write": "update orders, payments and shipping",
    "users:admin": "manage console users and API tokens",
}

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset(SCOPES),
    Role.HOST: frozenset({
        "shows:read", "shows:write", "shows:control", "catalog:read",
        "chat:moderate", "chat:read", "orders:read",
    }),
    Role.MARKETER: frozenset({
        "shows:read", "shows:write", "catalog:read", "catalog:write",
        "coupons:write", "chat:read", "orders:read",
    }),
    Role.MODERATOR: frozenset({"shows:read", "catalog:read", "chat:moderate", "chat:read"}),
}

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
NICKNAME_MAX = 24


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: a console user, an API token, a viewer, or nobody."""

    kind: str  # "staff" | "token" | "viewer" | "anonymous"
    id: str
    name: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    roles: tuple[str, ...] = ()
    tier: str | None = None
    guest: bool = False

    @property
    def is_staff(self) -> bool:
        return self.kind in ("staff", "token")

    @property
    def is_viewer(self) -> bool:
        return self.kind == "viewer"

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        """Raise unless this principal holds `permission` (the service-layer check)."""
        if self.kind == "anonymous":
            raise Unauthorized("login_required", "sign in first")
        if permission not in self.permissions:
            raise Forbidden("permission_denied", f"needs {permission}", permission=permission)

    def require_viewer(self) -> None:
        if self.kind != "viewer":
            raise Unauthorized("viewer_token_required", "connect with a viewer token")


ANONYMOUS = Principal(kind="anonymous", id="", name="")


def staff_principal(user_id: int, username: str, role: str) -> Principal:
    return Principal(
        kind="staff",
        id=f"u{user_id}",
        name=username,
        permissions=ROLE_PERMISSIONS[Role(role)],
        roles=(role,),
    )


def token_principal(token_id: int, name: str, scopes: frozenset[str]) -> Principal:
    return Principal(kind="token", id=f"t{token_id}", name=name, permissions=scopes)


def viewer_principal(user_id: str, name: str, tier: str | None, guest: bool) -> Principal:
    return Principal(kind="viewer", id=user_id, name=name, tier=tier, guest=guest)


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise Invalid("invalid_username", "2-40 characters: a-z, 0-9, dot, dash, underscore")
    return name


def check_password(password: str) -> None:
    if len(password) < 10:
        raise Invalid("weak_password", "passwords need at least 10 characters")
    if len(password) > 256:
        raise Invalid("invalid_password", "passwords are at most 256 characters")


def check_scopes(scopes: list[str]) -> frozenset[str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise Invalid("invalid_scope", "unknown scopes: " + ", ".join(unknown or ["(none)"]))
    return frozenset(scopes)


def clean_nickname(raw: str) -> str:
    nick = "".join(ch for ch in raw if ch.isprintable()).strip()
    if not nick or len(nick) > NICKNAME_MAX:
        raise Invalid("invalid_nickname", f"1-{NICKNAME_MAX} printable characters")
    return nick
