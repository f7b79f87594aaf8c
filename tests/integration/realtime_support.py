"""Real Socket.IO clients for the real-time tests: connect, record, wait on conditions."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web

from server.keys import AUTH

_show_ids = itertools.count(int(time.time() * 1000) % 1_000_000_000 * 100 + 1)


def new_show_id() -> int:
    """A show id no other test (or earlier run against the same Redis) uses."""
    return next(_show_ids)


def guest_token(app: web.Application, nick: str = "viewer") -> str:
    token, _ = app[AUTH].issue_guest(nick)
    return token


class Client:
    """One real `socketio.AsyncClient` on one namespace that records what arrives.

    Ticks are recorded as they come (`ticks`) and unpacked into `events` the way the
    browser client does it: each [name, payload] entry, then viewers, hearts and fields.
    """

    def __init__(self, namespace: str = "/live") -> None:
        self.namespace = namespace
        # A short close timeout: a dropped peer never answers the close handshake.
        self.sio = socketio.AsyncClient(reconnection=False, request_timeout=1)
        self.ticks: list[dict[str, Any]] = []
        self.events: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()
        self.sio.on("*", self._record, namespace=namespace)

    async def _record(self, event: str, data: Any = None) -> None:
        if event == "tick":
            self.ticks.append(data)
            for name, payload in data.get("events", []):
                self.events.append((name, payload))
            for key, value in data.items():
                if key != "events":
                    self.events.append((key, value))
        else:
            self.events.append((event, data))
        self._changed.set()

    async def connect(self, url: str, auth: dict[str, Any] | None = None,
                      headers: dict[str, str] | None = None,
                      transports: list[str] | None = None) -> Client:
        await self.sio.connect(url, namespaces=[self.namespace], auth=auth,
                               headers=headers or {}, transports=transports or ["websocket"],
                               wait_timeout=5)
        return self

    def call(self, event: str, data: Any = None, timeout: float = 5) -> Awaitable[Any]:
        """Emit with an ack and await it (a timeout raises socketio's TimeoutError)."""
        result: Awaitable[Any] = self.sio.call(event, data, namespace=self.namespace,
                                               timeout=timeout)
        return result

    async def join(self, show_id: int, after: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"show_id": show_id}
        if after is not None:
            body["after"] = after
        ack: dict[str, Any] = await self.call("join", body)
        return ack

    def named(self, name: str) -> list[Any]:
        return [payload for event, payload in self.events if event == name]

    def wait_until(self, check: Callable[[], bool], timeout: float = 5) -> Awaitable[None]:
        """Wait until `check()` holds after an event arrives; fail after `timeout` s."""
        return self._wait_until(check, timeout)

    async def _wait_until(self, check: Callable[[], bool], within: float) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not check():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"condition not met in {within}s; events: "
                                     f"{self.events[-10:]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    async def close(self) -> None:
        await self.sio.disconnect()


def eventually(check: Callable[[], Any], timeout: float = 5, step: float = 0.05,
               within: float | None = None) -> Awaitable[None]:
    """Poll a condition until it holds or the deadline passes (for state with no event).
    `check` may return an awaitable."""
    return _eventually(check, timeout if within is None else within, step)


async def _eventually(check: Callable[[], Any], within: float, step: float) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(step)
