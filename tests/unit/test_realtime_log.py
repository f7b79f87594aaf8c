"""The in-memory room log and the hub's payload models and queue."""

from __future__ import annotations

import asyncio

import pytest

from server.errors import Invalid
from server.realtime.payloads import HeartIn, JoinIn, parse
from server.realtime.roomlog import MemoryLog
from server.realtime.websocket import SlimQueue


async def test_ids_increase_strictly_and_resume_returns_the_gap() -> None:
    log = MemoryLog(size=100)
    ids = [await log.append(7, "chat", f'{{"n":{n}}}', False) for n in range(5)]
    assert ids == sorted(set(ids))
    missed = await log.read(7, ids[1], staff=False)
    assert missed.reset is False
    assert missed.last == ids[-1]
    assert [(i, e, p) for i, e, p in missed.entries] == [
        (ids[n], "chat", {"n": n, "id": ids[n]}) for n in (2, 3, 4)
    ]


async def test_staff_entries_are_hidden_from_viewers() -> None:
    log = MemoryLog(size=100)
    first = await log.append(7, "a", "{}", False)
    await log.append(7, "b", "{}", True)
    assert [e for _, e, _ in (await log.read(7, first, staff=False)).entries] == []
    assert [e for _, e, _ in (await log.read(7, first, staff=True)).entries] == ["b"]


async def test_trimmed_or_older_than_the_process_means_reset() -> None:
    log = MemoryLog(size=100)
    ids = [await log.append(7, "chat", "{}", False) for _ in range(150)]
    assert (await log.read(7, ids[10], staff=False)).reset is True
    assert (await log.read(7, ids[60], staff=False)).reset is False
    assert (await log.read(7, 1, staff=False)).reset is True  # before this process
    assert (await log.read(8, None, staff=False)).last is None


def test_payload_models_are_strict() -> None:
    assert parse(JoinIn, {"show_id": 3, "after": 9}) == JoinIn(show_id=3, after=9)
    for bad in ({"show_id": "3"}, {"show_id": True}, {"show_id": 3, "x": 1}, [], "3", 3):
        with pytest.raises(Invalid) as caught:
            parse(JoinIn, bad)
        assert caught.value.code == "invalid_payload"
    with pytest.raises(Invalid):
        parse(HeartIn, {"count": 51})


async def test_slim_queue_wakes_its_getter_and_joins() -> None:
    queue = SlimQueue()
    getter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("a")
    assert await getter == "a"
    queue.task_done()
    await asyncio.wait_for(queue.join(), 1)
    cancelled = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    queue.put_nowait("b")
    assert queue.get_nowait() == "b"
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
