"""Chat in a real browser: markup in a message stays text; a moderator's hide removes the
message from an open viewer page."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import StartNode
from tests.integration.chat_support import console, live_show, say, viewer

pytestmark = pytest.mark.browser
XSS = "<img src=x onerror=alert(1)>"


async def test_markup_shows_as_text_and_hide_removes_it(
    start_node: StartNode, browser: Browser,
) -> None:
    node = await start_node()
    show = await live_show(node.app)
    context = await browser.new_context(locale="ko-KR", viewport={"width": 390, "height": 844})
    dialogs: list[str] = []
    errors: list[str] = []
    try:
        page = await context.new_page()
        page.on("dialog", lambda d: dialogs.append(d.message))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{node.url}/live/{show}")
        chat = page.locator("#chat")
        await expect(chat).to_have_attribute("data-ready", "true", timeout=10_000)
        await expect(chat).to_have_attribute("data-mode", "viewer")

        sender = await viewer(node, show, "mallory")
        bad = await say(sender, XSS)
        assert bad["ok"]
        row = chat.locator(f'.chat-msg[data-id="{bad["id"]}"]')
        await expect(row.locator(".chat-text")).to_have_text(XSS)
        assert await chat.locator("img").count() == 0

        # The page's own form sends through the socket too.
        await page.fill("#chat .chat-input", "페이지에서 보냄")
        await page.click("#chat .chat-send")
        await expect(chat.locator(".chat-text", has_text="페이지에서 보냄")).to_have_count(1)

        mod = await console(node, show)
        ack = await mod.call("chat_moderate", {"action": "hide", "message_id": bad["id"]})
        assert ack["ok"]
        await expect(row).to_have_count(0)
        await expect(chat.locator(".chat-text", has_text="페이지에서 보냄")).to_have_count(1)
        assert dialogs == []
        assert errors == []
        await sender.close()
        await mod.close()
    finally:
        await context.close()
