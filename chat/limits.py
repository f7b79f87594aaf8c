"""Sending limits: token buckets, slow mode and repeated-text flood detection; no I/O.

Each returns the seconds until the sender may try again (0.0 when allowed), computed
from the `now` it is given, so tests with a hand-driven clock see exact values.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

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

    def take(self, key: str, now: float) -> float:
        """Take one token for `key`; returns 0.0, or the seconds until a token is there."""
        state = self._state.get(key)
        if state is None:
            tokens = self.capacity
        else:
            tokens = min(self.capacity, state[0] + (now - state[1]) / self.interval)
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
