"""With Redis set, python-socketio's Redis manager carries plain emits between nodes."""

from __future__ import annotations

from server.keys import SIO
from server.realtime.manager import SlimManager, SlimRedisManager
from tests.conftest import StartNode
from tests.integration.realtime_support import Client, guest_token


async def test_emit_to_a_sid_on_another_node(start_node: StartNode, redis_url: str) -> None:
    a = await start_node(redis_url=redis_url)
    b = await start_node(redis_url=redis_url)
    assert isinstance(a.app[SIO].manager, SlimRedisManager)
    viewer = await Client().connect(b.url, auth={"token": guest_token(b.app)})
    try:
        sid = viewer.sio.get_sid("/live")
        assert sid is not None
        # Node A has no such socket: the emit must cross Redis to node B.
        await a.app[SIO].emit("notice", {"text": "hello"}, to=sid, namespace="/live")
        await viewer.wait_until(lambda: viewer.named("notice") == [{"text": "hello"}])
    finally:
        await viewer.close()


async def test_one_node_keeps_the_in_process_manager(start_node: StartNode) -> None:
    node = await start_node()
    manager = node.app[SIO].manager
    assert isinstance(manager, SlimManager)
    assert not isinstance(manager, SlimRedisManager)
