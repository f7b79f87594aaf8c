"""Socket.IO's managers without a room per socket.

python-socketio puts every socket in a room of its own (a bidict: two dicts, about
0.5 KiB) and, on each disconnect, scans every room of the namespace for the socket, so
a crowd that leaves at once costs O(n²). The hub keeps its own rooms (fanout.Room) and
nothing here emits through Socket.IO rooms; a sid still works as `to=` (it is looked up
in the namespace's list of sockets), so `sio.emit(..., to=sid)` behaves as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import socketio


class SlimRooms(socketio.AsyncManager):  # type: ignore[misc]
    """Sid rooms made virtual: looked up, never stored. Mixed into a Socket.IO manager."""

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


class SlimManager(SlimRooms, socketio.AsyncManager):  # type: ignore[misc]
    """One node: Socket.IO's in-process manager with virtual sid rooms."""


class SlimRedisManager(SlimRooms, socketio.AsyncRedisManager):  # type: ignore[misc]
    """Several nodes: `sio.emit(to=sid)` and `sio.disconnect(sid)` reach a socket on any
    node through Redis. The hub's own traffic never takes this path (ADR 0004)."""

    async def close(self) -> None:
        """Stop the listener and close its Redis connections (python-socketio has no
        shutdown of its own for them)."""
        task = getattr(self, "thread", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for name in ("pubsub", "redis"):
            conn = getattr(self, name, None)
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.aclose()
