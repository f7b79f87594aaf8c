"""Accounts use cases: users, login with lock-out, sessions, API tokens, viewer tokens."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.auth import passwords
from server.auth.domain import (
    SCOPES,
    Principal,
    Role,
    check_password,
    check_scopes,
    check_username,
    clean_nickname,
    staff_principal,
    token_principal,
    viewer_principal,
)
from server.auth.tables import ApiToken, LoginFailure, User, UserSession
from server.auth.tokens import API_TOKEN_PREFIX, decode_jwt, encode_jwt, new_api_token, sha256_hex
from server.db import utcnow
from server.errors import Conflict, Invalid, NotFound, RateLimited, Unauthorized
from server.settings import Settings

SYSTEM = Principal(kind="staff", id="system", name="system", permissions=frozenset(SCOPES))
GUEST_ISSUER = "onair-guest"
GUEST_TTL = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class LoginResult:
    session_token: str
    csrf_token: str
    principal: Principal


@dataclass(frozen=True, slots=True)
class StaffSession:
    principal: Principal
    csrf_token: str


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    username: str
    display_name: str
    role: str
    disabled: bool = False
    created_at: datetime | None = None
    last_login_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An API token as listed: never its secret, only the prefix shown at creation."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


MAX_PAGE = 200


class AuthService:
    """Console users, sessions, API tokens and viewer identities."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock

    async def create_user(
        self, actor: Principal, username: str, password: str, role: str,
        display_name: str | None = None,
    ) -> UserInfo:
        """Create a console user (needs users:admin). Errors: invalid_username, weak_password,
        invalid_role, username_taken."""
        actor.require("users:admin")
        name = check_username(username)
        check_password(password)
        try:
            role_value = Role(role).value
        except ValueError:
            roles = ", ".join(r.value for r in Role)
            raise Invalid("invalid_role", f"role must be one of {roles}") from None
        hashed = await passwords.hash_password_async(password)
        user = User(
            username=name, display_name=(display_name or name)[:80], password_hash=hashed,
            role=role_value, disabled=False, created_at=self._clock(),
        )
        try:
            async with self._sessions.begin() as db:
                db.add(user)
        except IntegrityError:
            raise Conflict("username_taken", f"{name} already exists") from None
        return UserInfo(user.id, user.username, user.display_name, user.role, False,
                        user.created_at, None)

    async def find_user(self, username: str) -> UserInfo | None:
        async with self._sessions() as db:
            user = await db.scalar(select(User).where(User.username == username.lower()))
        if user is None:
            return None
        return UserInfo(user.id, user.username, user.display_name, user.role)

    async def login(self, username: str, password: str) -> LoginResult:
        """Check a password and open a session. Errors: login_failed (401),
        login_locked (429 with retry_after) after repeated failures."""
        key = username.strip().lower()[:80]
        now = self._clock()
        async with self._sessions() as db:
            failure = await db.get(LoginFailure, key)
            if failure and failure.locked_until and failure.locked_until > now:
                wait = (failure.locked_until - now).total_seconds()
                raise RateLimited("login_locked", "too many failed logins", retry_after=wait)
            user = await db.scalar(select(User).where(User.username == key))
        ok = await passwords.verify_password_async(
            password[:256], user.password_hash if user else None
        )
        if not ok or user is None or user.disabled:
            await self._record_failure(key, now)
            raise Unauthorized("login_failed", "wrong username or password")
        session_token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        async with self._sessions.begin() as db:
            await db.execute(delete(LoginFailure).where(LoginFailure.username == key))
            await db.execute(
                update(User).where(User.id == user.id).values(last_login_at=now)
            )
            db.add(UserSession(
                id=sha256_hex(session_token), user_id=user.id, csrf_token=csrf,
                created_at=now, expires_at=now + timedelta(days=self._settings.session_days),
            ))
        return LoginResult(session_token, csrf, staff_principal(user.id, user.username, user.role))

    async def _record_failure(self, key: str, now: datetime) -> None:
        window = timedelta(seconds=self._settings.login_lockout_seconds)
        for _attempt in range(3):
            try:
                async with self._sessions.begin() as db:
                    row = await db.get(LoginFailure, key, with_for_update=True)
                    if row is None:
                        row = LoginFailure(username=key, failures=0, first_failed_at=now)
                        db.add(row)
                    elif row.first_failed_at < now - window:
                        row.failures, row.first_failed_at, row.locked_until = 0, now, None
                    row.failures += 1
                    if row.failures >= self._settings.login_max_failures:
                        row.locked_until = now + window
                return
            except IntegrityError:
                continue  # a concurrent attempt inserted the row first; count on it

    async def session(self, session_token: str | None) -> StaffSession | None:
        """The staff principal and CSRF token behind a session cookie, if still valid."""
        if not session_token or len(session_token) > 200:
            return None
        now = self._clock()
        async with self._sessions() as db:
            row = await db.execute(
                select(UserSession, User)
                .join(User, User.id == UserSession.user_id)
                .where(UserSession.id == sha256_hex(session_token))
            )
            found = row.first()
        if found is None:
            return None
        sess, user = found
        if sess.expires_at <= now or user.disabled:
            return None
        return StaffSession(staff_principal(user.id, user.username, user.role), sess.csrf_token)

    async def logout(self, session_token: str | None) -> None:
        if not session_token:
            return
        async with self._sessions.begin() as db:
            await db.execute(delete(UserSession).where(UserSession.id == sha256_hex(session_token)))

    async def create_token(
        self, actor: Principal, name: str, scopes: list[str], expires_days: int | None = None
    ) -> tuple[str, int]:
        """Mint an API token; returns (the token, shown once, its id). See issue_token."""
        token, info = await self.issue_token(actor, name, scopes, expires_days)
        return token, info.id

    async def issue_token(
        self, actor: Principal, name: str, scopes: list[str], expires_days: int | None = None
    ) -> tuple[str, TokenInfo]:
        """Mint an API token (shown once; stored hashed). Needs users:admin.
        Errors: invalid_scope, invalid_name, invalid_expiry."""
        actor.require("users:admin")
        granted = check_scopes(scopes)
        label = name.strip()
        if not label or len(label) > 80:
            raise Invalid("invalid_name", "token names are 1-80 characters")
        if expires_days is not None and not 1 <= expires_days <= 3650:
            raise Invalid("invalid_expiry", "expires_days is 1-3650 days")
        token, digest, prefix = new_api_token()
        now = self._clock()
        row = ApiToken(
            name=label, prefix=prefix, token_hash=digest, scopes=" ".join(sorted(granted)),
            created_at=now,
            expires_at=now + timedelta(days=expires_days) if expires_days else None,
        )
        async with self._sessions.begin() as db:
            db.add(row)
        return token, TokenInfo(
            row.id, row.name, row.prefix, tuple(sorted(granted)), row.created_at,
            row.expires_at, None, None,
        )

    async def revoke_token(self, actor: Principal, token_id: int) -> None:
        """Revoke an API token at once (needs users:admin); revoking twice keeps the first
        time. Errors: token_not_found."""
        actor.require("users:admin")
        async with self._sessions.begin() as db:
            row = await db.get(ApiToken, token_id, with_for_update=True)
            if row is None:
                raise NotFound("token_not_found", f"no API token {token_id}")
            if row.revoked_at is None:
                row.revoked_at = self._clock()

    async def list_users(
        self, actor: Principal, *, after: int = 0, limit: int = 50
    ) -> list[UserInfo]:
        """Console users in id order after the cursor `after` (needs users:admin)."""
        actor.require("users:admin")
        async with self._sessions() as db:
            rows = await db.scalars(
                select(User).where(User.id > after).order_by(User.id)
                .limit(max(1, min(limit, MAX_PAGE)))
            )
            return [
                UserInfo(u.id, u.username, u.display_name, u.role, u.disabled, u.created_at,
                         u.last_login_at)
                for u in rows
            ]

    async def list_tokens(
        self, actor: Principal, *, after: int = 0, limit: int = 50
    ) -> list[TokenInfo]:
        """API tokens in id order after the cursor `after`, without secrets
        (needs users:admin)."""
        actor.require("users:admin")
        async with self._sessions() as db:
            rows = await db.scalars(
                select(ApiToken).where(ApiToken.id > after).order_by(ApiToken.id)
                .limit(max(1, min(limit, MAX_PAGE)))
            )
            return [
                TokenInfo(t.id, t.name, t.prefix, tuple(t.scopes.split()), t.created_at,
                          t.expires_at, t.revoked_at, t.last_used_at)
                for t in rows
            ]

    async def bearer(self, token: str) -> Principal:
        """Resolve an Authorization: Bearer value: an API token or a viewer JWT.
        Errors: token_invalid, token_expired, token_revoked."""
        if token.startswith(API_TOKEN_PREFIX):
            return await self._api_token(token)
        return self.viewer(token)

    async def _api_token(self, token: str) -> Principal:
        now = self._clock()
        async with self._sessions.begin() as db:
            row = await db.scalar(select(ApiToken).where(ApiToken.token_hash == sha256_hex(token)))
            if row is None:
                raise Unauthorized("token_invalid", "unknown API token")
            if row.revoked_at is not None:
                raise Unauthorized("token_revoked", "this API token was revoked")
            if row.expires_at is not None and row.expires_at <= now:
                raise Unauthorized("token_expired", "this API token has expired")
            if row.last_used_at is None or row.last_used_at < now - timedelta(minutes=1):
                row.last_used_at = now
        return token_principal(row.id, row.name, frozenset(row.scopes.split()))

    def issue_guest(self, nickname: str) -> tuple[str, Principal]:
        """A signed guest identity: a random id and the chosen nickname."""
        nick = clean_nickname(nickname)
        guest_id = "g_" + secrets.token_urlsafe(9)
        claims = {
            "iss": GUEST_ISSUER, "sub": guest_id, "name": nick,
            "exp": int(time.time()) + GUEST_TTL,
        }
        token = encode_jwt(claims, self._settings.secret_key)
        return token, viewer_principal(guest_id, nick, None, guest=True)

    def viewer(self, token: str) -> Principal:
        """A viewer from a guest token (ours) or a shop token (HS256, shared secret).
        Claims: sub, name, tier, exp. Errors: token_invalid, token_expired."""
        try:
            claims = decode_jwt(token, self._settings.secret_key)
        except Unauthorized as ours:
            if ours.code == "token_expired" or not self._settings.shop_jwt_secret:
                raise
            claims = decode_jwt(token, self._settings.shop_jwt_secret)
            return _shop_viewer(claims)
        if claims.get("iss") != GUEST_ISSUER:
            raise Unauthorized("token_invalid", "not a viewer token")
        return viewer_principal(
            str(claims.get("sub", "")), str(claims.get("name", "")), None, guest=True
        )


def _shop_viewer(claims: dict[str, object]) -> Principal:
    sub, name, tier = claims.get("sub"), claims.get("name"), claims.get("tier")
    if not isinstance(sub, str) or not sub or len(sub) > 64:
        raise Unauthorized("token_invalid", "sub claim must be a string id")
    if not isinstance(name, str):
        raise Unauthorized("token_invalid", "name claim must be a string")
    try:
        nick = clean_nickname(name)
    except Invalid:
        raise Unauthorized("token_invalid", "name claim is not a usable nickname") from None
    if tier is not None and (not isinstance(tier, str) or len(tier) > 20):
        raise Unauthorized("token_invalid", "tier claim must be a short string")
    return viewer_principal("s_" + sub, nick, tier, guest=False)
