"""Engine.IO tuned for many idle sockets and one frame per tick: no per-message deflate,
pre-encoded frames, a slim send queue and a writer that wakes without a timer."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import engineio
import engineio.async_drivers.aiohttp
from aiohttp import WSMsgType
from aiohttp.web import WebSocketResponse
from engineio import async_socket, exceptions
from engineio import packet as eio_packet


class Frame(str):
    """An encoded Engine.IO packet that also carries its UTF-8 bytes.

    The fan-out builds one per tick per room; every websocket recipient writes the same
    bytes, so nothing is encoded per recipient. Polling payloads use it as a plain str.
    """

    utf8: bytes


def frame_packet(text: str) -> Any:
    """One Engine.IO MESSAGE packet whose encoding is computed once, here.

    `text` is the Socket.IO packet (`2/live,["tick",{...}]`). Engine.IO packets cache their
    encoding, so the writer of each socket reuses this Frame as is.
    """
    pkt = eio_packet.Packet(eio_packet.MESSAGE, text)
    encoded = Frame("4" + text)
    encoded.utf8 = encoded.encode("utf-8")
    pkt.encode_cache = encoded
    return pkt


class FastSocket(async_socket.AsyncSocket):  # type: ignore[misc]
    """An Engine.IO socket whose websocket writer waits on its queue without `wait_for`.

    Engine.IO's writer polls with `asyncio.wait_for(queue.get(), timeout)`, which costs a
    timer and callbacks on every wake-up: once per tick per viewer. Over websocket the
    timeout is redundant (pings pass through the queue every ping interval and the reader
    puts None when the connection ends), so the upgraded socket waits plainly and takes
    what else is queued without raising QueueEmpty. Long polling keeps Engine.IO's poll.
    Pings are timers rather than a sleeping task per socket (about 1 KiB each).
    The hub switches each socket's class when it connects (same layout, no new fields).
    """

    def schedule_ping(self) -> None:
        if self.last_ping:
            self.last_ping: float | None = None
            asyncio.get_running_loop().call_later(self.server.ping_interval, self._ping_now)

    def _ping_now(self) -> None:
        if not self.closing and not self.closed:
            self.last_ping = time.time()
            self.queue.put_nowait(eio_packet.Packet(eio_packet.PING))

    async def poll(self) -> list[Any]:
        if not self.upgraded:
            return await super().poll()  # type: ignore[no-any-return]
        queue = self.queue
        try:
            first = queue.get_nowait() if queue.qsize() else await queue.get()
        except asyncio.CancelledError:
            raise exceptions.QueueEmpty() from None
        queue.task_done()
        if first is None:
            return []
        packets = [first]
        while queue.qsize():
            pkt = queue.get_nowait()
            queue.task_done()
            if pkt is None:
                queue.put_nowait(None)
                break
            packets.append(pkt)
        return packets


class SlimQueue:
    """The part of asyncio.Queue Engine.IO uses, in a few hundred bytes instead of ~3 KiB
    (asyncio.Queue holds four deques). Unbounded, like Engine.IO's; usually one getter."""

    __slots__ = ("_getters", "_items", "_joiners", "_unfinished")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._getters: list[asyncio.Future[None]] | None = None
        self._joiners: list[asyncio.Future[None]] | None = None
        self._unfinished = 0

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return False

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._unfinished += 1
        getters = self._getters
        while getters:
            getter = getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                break

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self) -> Any:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                if getter in self._getters:
                    self._getters.remove(getter)
                elif self._items:
                    self._wake_next()  # pass on the wake-up this getter took
                raise
        return self._items.pop(0)

    def _wake_next(self) -> None:
        for getter in self._getters or ():
            if not getter.done():
                getter.set_result(None)
                return

    def task_done(self) -> None:
        self._unfinished = max(0, self._unfinished - 1)
        if self._unfinished == 0 and self._joiners:
            joiners, self._joiners = self._joiners, None
            for joiner in joiners:
                if not joiner.done():
                    joiner.set_result(None)

    async def join(self) -> None:
        if self._unfinished:
            joiner = asyncio.get_running_loop().create_future()
            if self._joiners is None:
                self._joiners = []
            self._joiners.append(joiner)
            await joiner


def speed_up(sock: Any) -> None:
    """Give an Engine.IO socket the cheaper websocket writer wake-up (see FastSocket)."""
    if type(sock) is async_socket.AsyncSocket:
        sock.__class__ = FastSocket


def websocket_class(compress: bool) -> type:
    """Engine.IO's aiohttp websocket wrapper, with deflate on or off.

    Deflate costs about 90 KiB per connection, so it is off unless configured.
    """
    base: Any = engineio.async_drivers.aiohttp.WebSocket

    class WebSocket(base):  # type: ignore[misc]
        async def __call__(self, environ: dict[str, Any]) -> Any:
            request = environ["aiohttp.request"]
            self._sock = WebSocketResponse(
                max_msg_size=self.server.max_http_buffer_size, compress=compress
            )
            await self._sock.prepare(request)
            self.environ = environ
            await self.handler(self)
            return self._sock

        async def send(self, message: Any) -> None:
            if type(message) is Frame:
                await self._sock.send_frame(message.utf8, WSMsgType.TEXT)
                return
            await super().send(message)

    return WebSocket
