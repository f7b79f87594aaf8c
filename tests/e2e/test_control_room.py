"""A host pins a product in the control room; an open viewer page shows the card at once."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import StartNode, api_token, create_staff
from tests.integration.test_shows_api import call, make_product, make_show

pytestmark = pytest.mark.browser
# Filled by other work (the chat panel) or asked for by the browser on its own.
OPTIONAL = ("/static/js/chat.js", "/favicon.ico")
SCOPES = ("shows:read", "shows:write", "shows:control", "catalog:read", "catalog:write")


async def test_host_pins_and_viewer_sees_the_card(start_node: StartNode, browser: Browser) -> None:
    node = await start_node()
    token = await api_token(node.app, *SCOPES)
    name = "캐시미어 니트 " + secrets.token_hex(2)
    product = await make_product(node, token, stock=12, name=name, price=59000)
    other = await make_product(node, token, stock=0, name="머그")
    username, password = await create_staff(node.app, "host")
    show = await make_show(node, token, hosts=[username])
    for pid in (product["id"], other["id"]):
        status, _ = await call(node, "POST", f"/api/v1/shows/{show['id']}/lineup",
                               {"product_id": pid}, token=token)
        assert status == 201
    status, _ = await call(node, "POST", f"/api/v1/shows/{show['id']}/rehearse", token=token)
    assert status == 200

    errors: list[str] = []

    def watch(page: Any) -> None:
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error"
                and not msg.text.startswith("Failed to load resource") and errors.append(msg.text))
        page.on("response", lambda resp: resp.status >= 400 and not resp.url.endswith(OPTIONAL)
                and errors.append(f"{resp.status} {resp.url}"))

    viewer_ctx = await browser.new_context(locale="ko-KR", viewport={"width": 390, "height": 844})
    host_ctx = await browser.new_context(locale="ko-KR")
    try:
        viewer = await viewer_ctx.new_page()
        watch(viewer)
        await viewer.goto(f"{node.url}/live/{show['id']}")
        await expect(viewer.locator("#live")).to_have_attribute("data-joined", "true")
        await expect(viewer.locator("#pinned")).to_be_hidden()

        host = await host_ctx.new_page()
        watch(host)
        await host.goto(f"{node.url}/login?next=/console/shows/{show['id']}")
        await host.fill("input[name=username]", username)
        await host.fill("input[name=password]", password)
        await host.click("button[type=submit]")
        await host.wait_for_url(f"**/console/shows/{show['id']}")
        await expect(host.locator("#room")).to_have_attribute("data-joined", "true")

        item = host.locator(f'#lineup [data-product-id="{product["id"]}"]')
        await item.locator('[data-op="pin"]').click()
        await expect(viewer.locator("#pinned-name")).to_have_text(name, timeout=1000)
        await expect(viewer.locator("#pinned-price")).to_have_text("59,000원")
        await expect(viewer.locator("#pinned-stock")).to_have_text("재고 12개")
        await expect(viewer.locator("#buy")).to_have_attribute(
            "data-product-id", str(product["id"]))
        await expect(item).to_have_class("lineup-item is-pinned")

        # Live stock reaches the pinned card.
        status, _ = await call(node, "PATCH", f"/api/v1/products/{product['id']}",
                               {"stock": 0}, token=token)
        assert status == 200
        await expect(viewer.locator("#pinned-stock")).to_have_text("품절", timeout=1000)
        await expect(viewer.locator("#buy")).to_be_disabled()

        # Hearts float up on the viewer page.
        await viewer.click("#heart-btn")
        await expect(viewer.locator("#hearts-layer .float-heart").first).to_be_attached()

        # Going live and ending ask for confirmation first.
        await host.click('#controls [data-action="go_live"]')
        await expect(host.locator("#confirm-dialog")).to_be_visible()
        await host.click("#confirm-back")
        await expect(host.locator("#show-status")).to_have_attribute("data-status", "rehearsal")
        await host.click('#controls [data-action="go_live"]')
        await host.click("#confirm-ok")
        await expect(host.locator("#show-status")).to_have_attribute("data-status", "live")
        await expect(viewer.locator("#live-badge")).to_be_visible(timeout=1000)
        await host.click('#controls [data-action="end"]')
        await host.click("#confirm-ok")
        await expect(viewer.locator("#ended")).to_be_visible(timeout=1000)
        await expect(viewer.locator("#pinned")).to_be_hidden()
        assert errors == []
    finally:
        await viewer_ctx.close()
        await host_ctx.close()
