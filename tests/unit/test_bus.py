"""InProcessBus: delivery per channel, unsubscribe, and a failing handler spares the others."""

from __future__ import annotations

from typing import Any

import pytest

from server.bus import InProcessBus


async def test_publish_reaches_each_subscriber_of_the_channel_once() -> None:
    bus = InProcessBus("solo")
    await bus.start()
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    bus.subscribe("show:1", first.append)
    bus.subscribe("show:1", second.append)
    bus.subscribe("show:2", other.append)
    await bus.publish("show:1", {"n": 1})
    assert first == [{"n": 1}]
    assert second == [{"n": 1}]
    assert other == []
    assert bus.healthy
    await bus.close()


async def test_unsubscribe_stops_delivery() -> None:
    bus = InProcessBus()
    got: list[dict[str, Any]] = []
    remove = bus.subscribe("c", got.append)
    await bus.publish("c", {"n": 1})
    remove()
    remove()  # idempotent
    await bus.publish("c", {"n": 2})
    assert got == [{"n": 1}]


async def test_failing_handler_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bus = InProcessBus()
    got: list[dict[str, Any]] = []

    def broken(message: dict[str, Any]) -> None:
        raise ValueError("handler bug")

    bus.subscribe("c", broken)
    bus.subscribe("c", got.append)
    await bus.publish("c", {"n": 1})
    assert got == [{"n": 1}]
    assert "bus handler failed on c" in caplog.text


async def test_close_drops_subscribers() -> None:
    bus = InProcessBus()
    got: list[dict[str, Any]] = []
    bus.subscribe("c", got.append)
    await bus.close()
    await bus.publish("c", {"n": 1})
    assert got == []
