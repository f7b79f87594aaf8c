"""Engine.IO tuned for many idle sockets and one frame per tick: no per-message deflate,
pre-encoded frames, a slim send queue and a writer that wakes without a timer."""

from __future__ import annotations

import asyncio
import struct
import time
from collections import deque
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
    """An Engine.IO socket that costs little while idle.

    Engine.IO runs three tasks per websocket besides aiohttp's two (a writer that waits on
    the send queue, a reader task per received message and a sleeping ping task), and
    each holds a chain of coroutine frames for the whole life of the connection. Here:

    - frames are written by whoever queues them (`SlimQueue.put_nowait`), straight to the
      transport, in queue order; only while the transport is paused do packets wait in
      the queue, and one short-lived task drains them when it resumes (backpressure);
    - the websocket is read inline by the request handler, without a task per message;
    - the next ping is an entry in the server's `PingWheel`, not a sleeping task. A
      client that stops answering is closed by Engine.IO's service task
      (`check_ping_timeout`), and the close ends the websocket.

    With per-message deflate on, Engine.IO's own writer is kept (compression can yield).
    The hub switches each socket's class at the Engine.IO connect (same layout).
    """

    last_ping: float | None
    connected: bool
    upgraded: bool
    upgrading: bool

    def schedule_ping(self) -> None:
        if self.last_ping:
            self.last_ping = None
            wheel = getattr(self.server, "ping_wheel", None)
            if wheel is not None:
                wheel.add(self)
            else:
                asyncio.get_running_loop().call_later(self.server.ping_interval, self.ping_now)

    def ping_now(self) -> None:
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

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        await super().close(wait=wait, abort=abort, reason=reason)
        sink = getattr(self.queue, "sink", None)
        if sink is not None:
            sink.end()  # a server-side close also ends the websocket under it

    async def _websocket_handler(self, ws: Any) -> None:
        if not isinstance(ws, DirectWebSocket) or ws.compress:
            await super()._websocket_handler(ws)
            return
        if self.connected and not await self._upgrade(ws):
            return
        self.connected = self.upgraded = True
        queue = self.queue
        queue.attach(ws)
        try:
            await self._read(ws)
        finally:
            queue.detach()
            await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)
            await ws.close()

    async def _upgrade(self, ws: DirectWebSocket) -> bool:
        """Polling → websocket: answer the probe, end the pending poll, await UPGRADE."""
        self.upgrading = True
        try:
            probe = await ws.wait()
            if probe != "2probe":
                return False
            await ws.send("3probe")
            await self.queue.put(eio_packet.Packet(eio_packet.NOOP))  # ends the poll
            upgrade = await ws.wait()
            return bool(upgrade) and eio_packet.Packet(encoded_packet=upgrade).packet_type \
                == eio_packet.UPGRADE
        except OSError:
            return False
        finally:
            self.upgrading = False

    async def _read(self, ws: DirectWebSocket) -> None:
        receive = ws.sock.receive
        while True:
            msg = await receive()
            if msg.type is not WSMsgType.TEXT and msg.type is not WSMsgType.BINARY:
                return
            try:
                await self.receive(eio_packet.Packet(encoded_packet=msg.data))
            except exceptions.UnknownPacketError:
                pass
            except exceptions.SocketIsClosedError:
                return
            except Exception:
                self.server.logger.exception("Unknown receive error")


class SlimQueue:
    """The part of asyncio.Queue Engine.IO uses, in a few hundred bytes instead of ~3 KiB
    (asyncio.Queue holds four deques). Unbounded, like Engine.IO's; usually one getter.

    Once a websocket is attached (`attach`), a packet put in an empty queue is written to
    the transport at once; the queue holds packets only while the transport is paused
    (or while the packets before them wait), so order always holds.
    """

    __slots__ = ("_getters", "_items", "_joiners", "_unfinished", "sink")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._getters: list[asyncio.Future[None]] | None = None
        self._joiners: list[asyncio.Future[None]] | None = None
        self._unfinished = 0
        self.sink: DirectWebSocket | None = None

    def attach(self, sink: DirectWebSocket) -> None:
        """Write from now on straight to `sink`, after what is already queued."""
        self.sink = sink
        if self._items:
            sink.drain_later(self)

    def detach(self) -> None:
        self.sink = None
        self._items.clear()
        self._unfinished = 0
        self._release_joiners()

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return False

    def put_nowait(self, item: Any) -> None:
        sink = self.sink
        if sink is not None:
            if not self._items and sink.write(item):
                return
            self._items.append(item)
            self._unfinished += 1
            sink.drain_later(self)
            return
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
        if self._unfinished == 0:
            self._release_joiners()

    def _release_joiners(self) -> None:
        if self._joiners:
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


class PingWheel:
    """When each socket of a server is due its next ping: one deque and one timer.

    Every socket waits the same interval after its pong, so appending keeps the deque in
    due order. An entry is a tuple (about 90 bytes) where a timer per socket costs 0.5 KiB.
    """

    __slots__ = ("_due", "_interval", "_timer")

    def __init__(self, interval: float) -> None:
        self._due: deque[tuple[float, FastSocket]] = deque()
        self._interval = interval
        self._timer: asyncio.TimerHandle | None = None

    def add(self, sock: FastSocket) -> None:
        loop = asyncio.get_running_loop()
        self._due.append((loop.time() + self._interval, sock))
        if self._timer is None:
            self._timer = loop.call_at(self._due[0][0], self._fire)

    def _fire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now, due = loop.time(), self._due
        while due and due[0][0] <= now:
            due.popleft()[1].ping_now()
        if due:
            self._timer = loop.call_at(due[0][0], self._fire)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._due.clear()


def ws_frame(payload: bytes, opcode: int) -> bytes:
    """An unmasked, unfragmented websocket frame (RFC 6455 §5.2), as a server sends."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return header + payload


def speed_up(sock: Any) -> None:
    """Give an Engine.IO socket the cheaper websocket handling (see FastSocket)."""
    if type(sock) is async_socket.AsyncSocket:
        sock.__class__ = FastSocket


class DirectWebSocket(engineio.async_drivers.aiohttp.WebSocket):  # type: ignore[misc]
    """Engine.IO's aiohttp websocket wrapper, able to write frames synchronously.

    `write` puts a whole websocket frame on the transport (a Frame's bytes are reused as
    is), so frames never interleave; while the transport is paused it says no and the
    queue keeps the packet. Only `sock`, the flags and the drain task live per connection:
    the request's environ is trimmed to what handlers read after the handshake.
    """

    compress = False
    KEEP = frozenset({"aiohttp.request", "REMOTE_ADDR", "HTTP_COOKIE", "HTTP_X_FORWARDED_FOR",
                      "QUERY_STRING", "REQUEST_METHOD", "PATH_INFO", "wsgi.url_scheme"})

    async def __call__(self, environ: dict[str, Any]) -> Any:
        request = environ["aiohttp.request"]
        sock = WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=self.compress
        )
        await sock.prepare(request)
        self._sock = sock
        kept = {key: value for key, value in environ.items() if key in self.KEEP}
        environ.clear()  # a cleared dict frees its table; Socket.IO keeps this one
        environ.update(kept)
        self.transport = request.transport
        self.protocol = request.protocol
        self.draining: asyncio.Task[None] | None = None
        self.ending: asyncio.Task[Any] | None = None
        await self.handler(self)
        return sock

    async def send(self, message: Any) -> None:
        if type(message) is Frame:
            await self._sock.send_frame(message.utf8, WSMsgType.TEXT)
            return
        await super().send(message)

    @property
    def sock(self) -> WebSocketResponse:
        return self._sock

    def write(self, pkt: Any) -> bool:
        """Write one packet now; False when the transport is paused (queue it)."""
        if pkt is None:
            self.end()
            return True
        transport = self.transport
        if transport is None or transport.is_closing() or self._sock.closed:
            return True  # gone: what is left is dropped, as Engine.IO's writer does
        if self.protocol.writing_paused:
            return False
        encoded = pkt.encode()
        if type(encoded) is Frame:
            transport.write(ws_frame(encoded.utf8, 0x1))
        elif isinstance(encoded, bytes):
            transport.write(ws_frame(encoded, 0x2))
        else:
            transport.write(ws_frame(encoded.encode("utf-8"), 0x1))
        return True

    def drain_later(self, queue: SlimQueue) -> None:
        if self.draining is None:
            self.draining = asyncio.ensure_future(self._drain(queue))

    async def _drain(self, queue: SlimQueue) -> None:
        """Write what waited once the transport takes data again (backpressure)."""
        try:
            while queue.qsize():
                if self.protocol.writing_paused:
                    await self.protocol._drain_helper()
                while queue.qsize() and not self.protocol.writing_paused:
                    pkt = queue.get_nowait()
                    queue.task_done()
                    self.write(pkt)
        except (ConnectionError, RuntimeError):
            queue.detach()
        finally:
            self.draining = None

    def end(self) -> None:
        """Close the websocket from outside the reader (a server-side close)."""
        if self.ending is None and not self._sock.closed:
            self.ending = asyncio.ensure_future(self._sock.close())


def websocket_class(compress: bool) -> type:
    """The websocket wrapper Engine.IO uses, with deflate on or off.

    Deflate costs about 90 KiB per connection, so it is off unless configured; with it on,
    Engine.IO's writer task does the writing (compression may yield).
    """

    class WebSocket(DirectWebSocket):
        pass

    WebSocket.compress = compress
    return WebSocket
