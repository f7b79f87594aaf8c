"""Helpers for the chat tests: a live show, viewers and staff on real sockets, REST calls."""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp import web

from broadcasts.service import NewShow
from chat.keys import CHAT
from server.auth.domain import Principal, staff_principal
from server.keys import AUTH, SHOWS
from tests.conftest import Node, api_token, create_staff
from tests.integration.realtime_support import Client, guest_token

_nonces = itertools.count(1)


class Clock:
    """A hand-driven clock for the chat service, so retry-after values are exact."""

    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def host_of(app: web.Application) -> Principal:
    username, _ = await create_staff(app, "host")
    user = await app[AUTH].find_user(username)
    assert user is not None
    return staff_principal(user.id, username, "host")


async def live_show(app: web.Application) -> int:
    """A show that is on air, created through the shows service."""
    host = await host_of(app)
    show = await app[SHOWS].create_show(host, NewShow(title="chat test"))
    await app[SHOWS].transition(host, show.id, "rehearse")
    await app[SHOWS].transition(host, show.id, "go_live")
    return show.id


async def viewer(node: Node, show_id: int, nick: str = "viewer",
                 token: str | None = None, after: int | None = None) -> Client:
    client = await Client("/live").connect(
        node.url, auth={"token": token or guest_token(node.app, nick)})
    ack = await client.join(show_id, after=after)
    assert ack["ok"], ack
    client.joined = ack  # type: ignore[attr-defined]
    return client


async def console(node: Node, show_id: int, *scopes: str) -> Client:
    token = await api_token(node.app, "shows:read", "chat:moderate", "chat:read", *scopes)
    client = await Client("/console").connect(node.url, auth={"token": token})
    assert (await client.join(show_id))["ok"]
    return client


async def say(client: Client, text: str, nonce: str | None = None, **extra: Any) -> Any:
    return await client.call("chat", {"text": text, "nonce": nonce or f"n{next(_nonces)}",
                                      **extra})


def chat_texts(client: Client) -> list[str]:
    return [m["text"] for m in client.named("chat")]


def chat_ids(client: Client) -> list[int]:
    return [m["id"] for m in client.named("chat")]


async def staff_headers(node: Node, *scopes: str) -> dict[str, str]:
    token = await api_token(node.app, *(scopes or ("chat:moderate", "chat:read")))
    return {"Authorization": f"Bearer {token}"}


def chat_of(node: Node) -> Any:
    return node.app[CHAT]


async def add_word(node: Node, word: str, action: str) -> int:
    """Put a word on the shop-wide list (replacing a copy a crashed run left behind)."""
    headers = await staff_headers(node)
    for _attempt in range(2):
        async with node.http.post("/api/v1/chat/blocked-words", headers=headers,
                                  json={"word": word, "action": action}) as resp:
            if resp.status == 201:
                word_id: int = (await resp.json())["id"]
                return word_id
            assert resp.status == 409, await resp.text()
        async with node.http.get("/api/v1/chat/blocked-words", headers=headers) as resp:
            words = (await resp.json())["words"]
        await remove_word(node, next(w["id"] for w in words if w["word"] == word))
    raise AssertionError("could not add " + word)


async def remove_word(node: Node, word_id: int) -> None:
    async with node.http.delete(f"/api/v1/chat/blocked-words/{word_id}",
                                headers=await staff_headers(node)) as resp:
        assert resp.status in (204, 404)


async def set_domains(node: Node, domains: list[str]) -> None:
    async with node.http.put("/api/v1/chat/link-domains", headers=await staff_headers(node),
                             json={"domains": domains}) as resp:
        assert resp.status == 200, await resp.text()
