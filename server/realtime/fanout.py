"""Rooms and the coalescing fan-out: one encoded frame per room per tick, one queue put each.

Per show, events published with `coalesce=True`, heart and viewer totals and latest-value
fields collect until the tick; then each namespace gets ONE `tick` Socket.IO packet,
encoded once, and the same Engine.IO packet object goes into every recipient's Engine.IO
queue (the socket's own writer sends it; no task per recipient). Payloads arrive as JSON
text, so a tick is built by joining strings, not by re-encoding payloads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from server.auth.domain import Principal
from server.realtime.websocket import frame_packet

log = logging.getLogger("onair.realtime")

LIVE = "/live"
CONSOLE = "/console"
# Ticks a socket may have queued before it counts as stuck (about 10 s at 50 ms).
MAX_BACKLOG = 200


class Conn:
    """One connected socket; also the `ctx` handlers get. Kept tiny: thousands per node."""

    __slots__ = ("eio", "held", "ip", "namespace", "principal", "show_id", "sid")

    def __init__(self, sid: str, namespace: str, principal: Principal, ip: str, eio: Any) -> None:
        self.sid = sid
        self.namespace = namespace
        self.principal = principal
        self.ip = ip
        self.eio = eio  # the Engine.IO socket: its queue is where frames go
        self.show_id: int | None = None
        # While a join is answered, frames wait here so the ack goes first.
        self.held: list[Any] | None = None

    @property
    def is_console(self) -> bool:
        return self.namespace == CONSOLE


# (id or None, the `[name, payload]` entry as JSON text, staff_only)
Pending = tuple[int | None, str, bool]


class Room:
    """One show's members on this node and what waits for its next tick."""

    __slots__ = (
        "console", "dirty", "events", "hearts", "latest", "live", "max_id", "sent_hearts",
        "sent_viewers", "show_id", "unsorted", "viewers",
    )

    def __init__(self, show_id: int) -> None:
        self.show_id = show_id
        self.live: dict[str, Conn] = {}
        self.console: dict[str, Conn] = {}
        self.events: list[Pending] = []
        self.latest: dict[str, Any] = {}
        self.viewers: int | None = None
        self.hearts: int | None = None
        self.sent_viewers = -1
        self.sent_hearts = -1
        self.max_id = 0
        self.unsorted = False
        self.dirty = False

    def members(self, namespace: str) -> dict[str, Conn]:
        return self.console if namespace == CONSOLE else self.live

    @property
    def empty(self) -> bool:
        return not self.live and not self.console


def tick_item(event: str, payload_json: str) -> str:
    """One `[name, payload]` entry of a tick's `events`, as JSON text."""
    return f"[{json.dumps(event)},{payload_json}]"


def event_text(namespace: str, event: str, payload_json: str) -> str:
    """A Socket.IO EVENT packet for `namespace`, as text."""
    return f"2{namespace},[{json.dumps(event)},{payload_json}]"


class Fanout:
    """The rooms on this node and the frames that reach their members."""

    def __init__(self, on_stuck: Callable[[Conn], None]) -> None:
        self.rooms: dict[int, Room] = {}
        self._dirty: dict[int, Room] = {}
        self._on_stuck = on_stuck
        self.deliveries = 0  # events handed to sockets (an event in a tick counts per member)
        self.frames = 0  # queue puts

    # membership

    def add(self, conn: Conn, show_id: int) -> Room:
        """Put a socket in a show's room; frames are held until `release`."""
        room = self.rooms.get(show_id)
        if room is None:
            room = self.rooms[show_id] = Room(show_id)
        conn.show_id = show_id
        conn.held = []
        room.members(conn.namespace)[conn.sid] = conn
        return room

    def release(self, conn: Conn) -> None:
        """Hand what was held to the socket (called after the join ack is queued)."""
        held, conn.held = conn.held, None
        if held and not conn.eio.closed:
            put = conn.eio.queue.put_nowait
            for pkt in held:
                put(pkt)

    def remove(self, conn: Conn) -> Room | None:
        show_id, conn.show_id, conn.held = conn.show_id, None, None
        room = self.rooms.get(show_id) if show_id is not None else None
        if room is None:
            return None
        room.members(conn.namespace).pop(conn.sid, None)
        if room.empty:
            del self.rooms[room.show_id]
            self._dirty.pop(room.show_id, None)
            room.dirty = False
        return room

    # what the next tick carries

    def _mark(self, room: Room) -> None:
        if not room.dirty:
            room.dirty = True
            self._dirty[room.show_id] = room

    def queue_event(
        self, show_id: int, event_id: int | None, event: str, payload_json: str, staff: bool
    ) -> None:
        room = self.rooms.get(show_id)
        if room is None:
            return
        if event_id is not None:
            if event_id < room.max_id:
                room.unsorted = True  # concurrent publishers: sort the tick by id
            room.max_id = max(room.max_id, event_id)
        # Encoded once here: both namespaces' ticks reuse the same entry text.
        room.events.append((event_id, tick_item(event, payload_json), staff))
        self._mark(room)

    def set_viewers(self, show_id: int, count: int) -> None:
        room = self.rooms.get(show_id)
        if room is not None and count != room.sent_viewers:
            room.viewers = count
            self._mark(room)

    def set_hearts(self, show_id: int, total: int) -> None:
        room = self.rooms.get(show_id)
        if room is not None and total > room.sent_hearts:
            room.hearts = total
            self._mark(room)

    def set_latest(self, show_id: int, fields: dict[str, Any]) -> None:
        room = self.rooms.get(show_id)
        if room is None:
            return
        for key, value in fields.items():
            current = room.latest.get(key)
            if isinstance(value, dict) and isinstance(current, dict):
                current.update(value)
            else:
                room.latest[key] = dict(value) if isinstance(value, dict) else value
        self._mark(room)

    # sending

    def flush_all(self) -> None:
        dirty, self._dirty = self._dirty, {}
        for room in dirty.values():
            self._flush(room)

    def flush(self, show_id: int) -> None:
        room = self.rooms.get(show_id)
        if room is not None and room.dirty:
            del self._dirty[show_id]
            self._flush(room)

    def _flush(self, room: Room) -> None:
        room.dirty = False
        if room.empty:
            return
        events, room.events = room.events, []
        if room.unsorted:
            events = _by_id(events)
            room.unsorted = False
        fields: list[str] = []
        if room.viewers is not None and room.viewers != room.sent_viewers:
            fields.append(f'"viewers":{room.viewers}')
            room.sent_viewers = room.viewers
        if room.hearts is not None and room.hearts > room.sent_hearts:
            fields.append(f'"hearts":{room.hearts}')
            room.sent_hearts = room.hearts
        room.viewers = room.hearts = None
        if room.latest:
            for key, value in room.latest.items():
                fields.append(f"{json.dumps(key)}:{dumps(value)}")
            room.latest = {}
        live_events = [e for e in events if not e[2]]
        if room.live and (live_events or fields):
            self._send_tick(room.live, LIVE, live_events, fields)
        if room.console and (events or fields):
            self._send_tick(room.console, CONSOLE, events, fields)

    def _send_tick(
        self, members: dict[str, Conn], namespace: str, events: list[Pending], fields: list[str]
    ) -> None:
        parts = list(fields)
        if events:
            parts.insert(0, f'"events":[{",".join(item for _, item, _ in events)}]')
        text = f'2{namespace},["tick",{{{",".join(parts)}}}]'
        sent = self.deliver(members.values(), frame_packet(text))
        self.deliveries += sent * max(1, len(events))

    def send_event(
        self, show_id: int, event: str, payload_json: str, *, staff_only: bool = False,
        only_user: str | None = None,
    ) -> None:
        """Send one event now, after what the show has pending (so order holds)."""
        room = self.rooms.get(show_id)
        if room is None:
            return
        self.flush(show_id)
        for namespace, members in ((LIVE, room.live), (CONSOLE, room.console)):
            if not members or (staff_only and namespace == LIVE):
                continue
            targets: Iterable[Conn] = members.values()
            if only_user is not None:
                targets = [c for c in targets if c.principal.id == only_user]
                if not targets:
                    continue
            self.deliveries += self.deliver(
                targets, frame_packet(event_text(namespace, event, payload_json))
            )

    def deliver(self, members: Iterable[Conn], pkt: Any) -> int:
        """Queue one pre-encoded packet to each member's Engine.IO socket."""
        sent = 0
        for conn in members:
            held = conn.held
            if held is not None:
                held.append(pkt)
                continue
            sock = conn.eio
            if sock.closed:
                continue
            queue = sock.queue
            if queue.qsize() > MAX_BACKLOG:
                self._on_stuck(conn)
                continue
            queue.put_nowait(pkt)
            sent += 1
        self.frames += sent
        return sent


def _by_id(events: list[Pending]) -> list[Pending]:
    """Stable order by id; an unlogged event keeps its place after the id before it."""
    keyed: list[tuple[int, int, Pending]] = []
    last = 0
    for index, item in enumerate(events):
        if item[0] is not None:
            last = item[0]
        keyed.append((last, index, item))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [item for _, _, item in keyed]


def dumps(value: Any) -> str:
    """Compact JSON, as every frame carries it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
