"""The official JavaScript client (socket.io-client 4 from npm, run by Node) talks to ONAIR:
connect with a guest token, join, receive a tick and a plain event, get acks."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from server.keys import HUB
from tests.conftest import Node, StartNode, service_missing
from tests.integration.realtime_support import guest_token, new_show_id
from tests.integration.test_realtime import bare

JS_DIR = Path(__file__).resolve().parent.parent / "js"
SCRIPT = JS_DIR / "official_client.mjs"


@pytest.fixture(scope="module")
def node_bin() -> str:
    """Node with socket.io-client installed (npm install in tests/js on first use)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        service_missing("Node.js", "node or npm is not installed")
    if not (JS_DIR / "node_modules" / "socket.io-client").is_dir():
        import subprocess

        done = subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=JS_DIR,
                              capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            service_missing("socket.io-client", f"npm install failed: {done.stderr[-300:]}")
    return node


class NodeClient:
    """The Node process and the JSON lines it prints."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []

    async def next(self, step: str, within: float = 10) -> dict[str, Any]:
        assert self.proc.stdout is not None
        async with asyncio.timeout(within):
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    err = await self.proc.stderr.read() if self.proc.stderr else b""
                    raise AssertionError(f"node ended before {step!r}: {self.lines} "
                                         f"{err.decode()[-500:]}")
                line: dict[str, Any] = json.loads(raw)
                self.lines.append(line)
                if line["step"] == step:
                    return line

    async def finish(self) -> int:
        async with asyncio.timeout(10):
            return await self.proc.wait()


async def run(node_bin: str, node: Node, token: str, show: int, transport: str) -> NodeClient:
    proc = await asyncio.create_subprocess_exec(
        node_bin, str(SCRIPT), node.url, token, str(show), transport, cwd=JS_DIR,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    return NodeClient(proc)


@pytest.mark.parametrize("transport", ["default", "websocket"])
async def test_official_js_client_joins_and_gets_ticks_and_acks(
    node_bin: str, start_node: StartNode, transport: str
) -> None:
    node = bare(await start_node())
    hub = node.app[HUB]
    show = new_show_id()
    client = await run(node_bin, node, guest_token(node.app, "js"), show, transport)
    joined = await client.next("joined")
    assert joined["ack"] == {"ok": True, "state": {"viewers": 1, "hearts": 0}, "missed": [],
                             "reset": False, "cursor": None}
    pinned = await hub.publish(show, "pinned", {"product_id": 5})
    chat = await hub.publish(show, "chat", {"text": "안녕"}, coalesce=True)
    assert (await client.next("pinned"))["payload"] == {"id": pinned, "product_id": 5}
    done = await client.next("done")
    ticks = [line["tick"] for line in client.lines if line["step"] == "tick"]
    assert ["chat", {"id": chat, "text": "안녕"}] in [e for t in ticks for e in t.get("events", [])]
    assert done["heart"] == {"ok": True}
    assert done["bad"]["ok"] is False
    assert done["bad"]["error"] == "invalid_payload"
    assert await client.finish() == 0


async def test_official_js_client_is_refused_without_a_valid_token(
    node_bin: str, start_node: StartNode
) -> None:
    node = bare(await start_node())
    client = await run(node_bin, node, "nope", new_show_id(), "websocket")
    refused = await client.next("connect_error")
    assert refused["message"] == "token_invalid"
    assert refused["data"] == {"code": "token_invalid"}
    assert await client.finish() == 0
