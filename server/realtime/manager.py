"""Socket.IO's in-process manager without a room per socket.

python-socketio puts every socket in a room of its own (a bidict: two dicts, about
0.5 KiB) and, on each disconnect, scans every room of the namespace for the socket, so
a crowd that leaves at once costs O(n²). The hub keeps its own rooms (fanout.Room) and
nothing here emits through Socket.IO rooms; a sid still works as `to=` (it is looked up
in the namespace's list of sockets), so `sio.emit(..., to=sid)` behaves as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import socketio


class SlimManager(socketio.AsyncManager):  # type: ignore[misc]
    """AsyncManager whose sid rooms are virtual: looked up, never stored."""

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        if room is not None and room == sid:
            return
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)

    def get_participants(self, namespace: str, room: Any) -> Iterator[tuple[str, str]]:
        rooms = self.rooms.get(namespace, {})
        everyone = rooms.get(None)
        names = list(room) if hasattr(room, "__len__") and not isinstance(room, str) \
            else [room]
        participants: dict[str, str] = {}
        for name in names:
            if name in rooms:
                participants.update(rooms[name]._fwdm)
            elif everyone is not None and name in everyone:
                participants[name] = everyone[name]
        yield from participants.items()

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        rooms: list[Any] = super().get_rooms(sid, namespace)
        if self.eio_sid_from_sid(sid, namespace) is not None:
            rooms.insert(0, sid)
        return rooms
