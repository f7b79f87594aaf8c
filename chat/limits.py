"""Sending limits: token buckets, slow mode and repeated-text flood detection; no I/O.

Each returns the seconds until the sender may try again (0.0 when allowed), computed
from the `now` it is given, so tests with a hand-driven clock see exact values.
`LocalLimits` checks them all for one message and records only when all pass; the same
rules shared across nodes through Redis live in chat/limits_redis.py.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

PRUNE_EVERY = 4096


class TokenBucket:
    """Per-key buckets of `capacity` tokens, refilled evenly over `period` seconds."""

    def __init__(self, capacity: int, period: float, max_keys: int = 200_000) -> None:
        if capacity < 1 or period <= 0:
            raise ValueError("capacity >= 1 and period > 0")
        self.capacity = float(capacity)
        self.interval = period / capacity  # seconds per token
        self._max_keys = max_keys
        self._state: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def _tokens(self, key: str, now: float) -> float:
        state = self._state.get(key)
        if state is None:
            return self.capacity
        return min(self.capacity, state[0] + (now - state[1]) / self.interval)

    def wait(self, key: str, now: float) -> float:
        """Like `take`, but takes nothing: 0.0, or the seconds until a token is there."""
        tokens = self._tokens(key, now)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) * self.interval

    def take(self, key: str, now: float) -> float:
        """Take one token for `key`; returns 0.0, or the seconds until a token is there."""
        tokens = self._tokens(key, now)
        if tokens >= 1.0:
            self._state[key] = (tokens - 1.0, now)
            if len(self._state) > self._max_keys:
                self.prune(now)
            return 0.0
        self._state[key] = (tokens, now)
        return (1.0 - tokens) * self.interval

    def prune(self, now: float) -> None:
        """Forget keys whose bucket has refilled: they behave exactly like new keys."""
        full = self.capacity * self.interval
        self._state = {k: v for k, v in self._state.items() if now - v[1] < full}


class SlowMode:
    """At most one message per `seconds` per key; only accepted messages count."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._records = 0

    def wait(self, key: str, seconds: float, now: float) -> float:
        last = self._last.get(key)
        if last is None or seconds <= 0:
            return 0.0
        return max(0.0, last + seconds - now)

    def record(self, key: str, now: float, horizon: float = 3600.0) -> None:
        self._last[key] = now
        self._records += 1
        if self._records % PRUNE_EVERY == 0:
            self._last = {k: t for k, t in self._last.items() if now - t < horizon}


@dataclass(frozen=True, slots=True)
class FloodRule:
    """Refuse a text a user already sent `repeats` times within `window` seconds."""

    repeats: int = 2
    window: float = 30.0
    remember: int = 8


class FloodGuard:
    """Per-user memory of recent message skeletons (normalised, separators removed)."""

    def __init__(self, rule: FloodRule | None = None) -> None:
        self.rule = rule or FloodRule()
        self._recent: dict[str, deque[tuple[str, float]]] = {}
        self._records = 0

    def wait(self, user_key: str, skeleton: str, now: float) -> float:
        recent = self._recent.get(user_key)
        if not recent:
            return 0.0
        cutoff = now - self.rule.window
        same = [at for text, at in recent if text == skeleton and at > cutoff]
        if len(same) < self.rule.repeats:
            return 0.0
        # Allowed again once enough earlier copies have aged out of the window.
        return same[-self.rule.repeats] + self.rule.window - now

    def record(self, user_key: str, skeleton: str, now: float) -> None:
        recent = self._recent.get(user_key)
        if recent is None:
            recent = self._recent[user_key] = deque(maxlen=self.rule.remember)
        recent.append((skeleton, now))
        self._records += 1
        if self._records % PRUNE_EVERY == 0:
            cutoff = now - self.rule.window
            self._recent = {k: d for k, d in self._recent.items() if d and d[-1][1] > cutoff}


@dataclass(frozen=True, slots=True)
class ChatLimits:
    """The numbers: messages per period per user (viewers, staff) and per guest address."""

    viewer_messages: int = 20
    viewer_period: float = 30.0
    staff_messages: int = 120
    staff_period: float = 30.0
    guest_ip_messages: int = 60  # all guests behind one address together
    guest_ip_period: float = 30.0
    max_chars: int = 200
    flood: FloodRule = field(default_factory=FloodRule)


@dataclass(frozen=True, slots=True)
class LimitAsk:
    """One message to check: who, from where, in which show, with what text.
    `slow_seconds` is 0 when slow mode is off or the sender is exempt; `check_flood` is
    False for moderators (their text is still remembered)."""

    user_id: str
    staff: bool
    guest_ip: str | None
    slow_key: str
    slow_seconds: float
    skeleton: str
    check_flood: bool


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str  # rate_limited | slow_mode | repeated_text
    retry_after: float


class Limiter(Protocol):
    """Checks all sending limits of one message and records it only when all pass."""

    def configure(self, limits: ChatLimits) -> None:
        """Use these numbers from now on (this node's buckets start full again)."""
        ...

    async def check(self, ask: LimitAsk, now: float) -> Refusal | None: ...


class LocalLimits:
    """All limits in this node's memory: exact for one node (and the embedded default)."""

    def __init__(self, limits: ChatLimits | None = None) -> None:
        self.slow = SlowMode()
        self.configure(limits or ChatLimits())

    def configure(self, limits: ChatLimits) -> None:
        self.limits = limits
        self.viewers = TokenBucket(limits.viewer_messages, limits.viewer_period)
        self.staff = TokenBucket(limits.staff_messages, limits.staff_period)
        self.guest_ips = TokenBucket(limits.guest_ip_messages, limits.guest_ip_period)
        self.flood = FloodGuard(limits.flood)

    def check_now(self, ask: LimitAsk, now: float) -> Refusal | None:
        bucket = self.staff if ask.staff else self.viewers
        wait = bucket.wait(ask.user_id, now)
        if not wait and ask.guest_ip:
            wait = self.guest_ips.wait(ask.guest_ip, now)
        if wait:
            return Refusal("rate_limited", wait)
        if ask.slow_seconds:
            wait = self.slow.wait(ask.slow_key, ask.slow_seconds, now)
            if wait:
                return Refusal("slow_mode", wait)
        if ask.check_flood:
            wait = self.flood.wait(ask.user_id, ask.skeleton, now)
            if wait:
                return Refusal("repeated_text", wait)
        bucket.take(ask.user_id, now)
        if ask.guest_ip:
            self.guest_ips.take(ask.guest_ip, now)
        self.slow.record(ask.slow_key, now)
        self.flood.record(ask.user_id, ask.skeleton, now)
        return None

    async def check(self, ask: LimitAsk, now: float) -> Refusal | None:
        return self.check_now(ask, now)
