"""The fan-out without sockets: ticks are built once per room and queued to each member."""

from __future__ import annotations

import json
from typing import Any

from server.auth.domain import viewer_principal
from server.realtime.fanout import CONSOLE, LIVE, Conn, Fanout
from server.realtime.websocket import Frame, SlimQueue


class FakeSocket:
    """The two things the fan-out touches on an Engine.IO socket."""

    def __init__(self) -> None:
        self.queue = SlimQueue()
        self.closed = False

    def texts(self) -> list[str]:
        out = []
        while self.queue.qsize():
            out.append(self.queue.get_nowait().encode())
        return out


def member(fanout: Fanout, sid: str, show: int, namespace: str = LIVE,
           user: str = "g_1") -> tuple[Conn, FakeSocket]:
    sock = FakeSocket()
    conn = Conn(sid, namespace, viewer_principal(user, "nick", None, guest=True), "::1", sock)
    fanout.add(conn, show)
    fanout.release(conn)
    return conn, sock


def tick_of(text: str, namespace: str = LIVE) -> Any:
    prefix = f"42{namespace},"
    assert text.startswith(prefix)
    name, body = json.loads(text[len(prefix):])
    assert name == "tick"
    return body


def test_one_frame_object_per_tick_shared_by_members() -> None:
    fanout = Fanout(on_stuck=lambda conn: None)
    socks = [member(fanout, f"s{i}", 7)[1] for i in range(3)]
    fanout.queue_event(7, 10, "chat", '{"id":10,"t":"a"}', False)
    fanout.queue_event(7, 11, "chat", '{"id":11,"t":"b"}', False)
    fanout.set_viewers(7, 3)
    fanout.flush_all()
    packets = [s.queue.get_nowait() for s in socks]
    assert packets[0] is packets[1] is packets[2]
    encoded = packets[0].encode()
    assert type(encoded) is Frame
    assert encoded.utf8 == encoded.encode("utf-8")
    assert tick_of(encoded) == {"events": [["chat", {"id": 10, "t": "a"}],
                                           ["chat", {"id": 11, "t": "b"}]], "viewers": 3}
    assert fanout.deliveries == 6


def test_ticks_sort_concurrent_publishers_by_id() -> None:
    fanout = Fanout(on_stuck=lambda conn: None)
    _, sock = member(fanout, "s", 7)
    fanout.queue_event(7, 12, "chat", '{"id":12}', False)
    fanout.queue_event(7, None, "note", "{}", False)
    fanout.queue_event(7, 11, "chat", '{"id":11}', False)
    fanout.flush_all()
    body = tick_of(sock.texts()[0])
    assert body["events"] == [["chat", {"id": 11}], ["chat", {"id": 12}], ["note", {}]]


def test_staff_only_entries_reach_the_console_only() -> None:
    fanout = Fanout(on_stuck=lambda conn: None)
    _, viewer = member(fanout, "v", 7)
    _, staff = member(fanout, "c", 7, CONSOLE)
    fanout.queue_event(7, 1, "chat", '{"id":1}', False)
    fanout.queue_event(7, 2, "flag", '{"id":2}', True)
    fanout.flush_all()
    assert tick_of(viewer.texts()[0])["events"] == [["chat", {"id": 1}]]
    assert len(tick_of(staff.texts()[0], CONSOLE)["events"]) == 2


def test_plain_event_flushes_pending_first_and_only_user() -> None:
    fanout = Fanout(on_stuck=lambda conn: None)
    _, mine = member(fanout, "a", 7, user="g_me")
    _, other = member(fanout, "b", 7, user="g_other")
    fanout.queue_event(7, 1, "chat", '{"id":1}', False)
    fanout.send_event(7, "pinned", '{"id":2}')
    fanout.send_event(7, "secret", "{}", only_user="g_me")
    assert [t[:12] for t in mine.texts()] == ["42/live,[\"ti", "42/live,[\"pi", "42/live,[\"se"]
    assert len(other.texts()) == 2


def test_held_members_get_frames_after_release_and_stuck_ones_are_reported() -> None:
    stuck: list[str] = []
    fanout = Fanout(on_stuck=lambda conn: stuck.append(conn.sid))
    sock = FakeSocket()
    conn = Conn("h", LIVE, viewer_principal("g", "n", None, guest=True), "", sock)
    fanout.add(conn, 7)
    fanout.send_event(7, "pinned", "{}")
    assert sock.queue.qsize() == 0
    fanout.release(conn)
    assert sock.queue.qsize() == 1
    for _ in range(300):
        fanout.send_event(7, "pinned", "{}")
    assert stuck
    assert sock.queue.qsize() <= 202


def test_empty_rooms_are_dropped() -> None:
    fanout = Fanout(on_stuck=lambda conn: None)
    conn, _ = member(fanout, "s", 7)
    fanout.set_hearts(7, 5)
    fanout.remove(conn)
    assert fanout.rooms == {}
    fanout.flush_all()
