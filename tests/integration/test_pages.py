"""Pages: language by Accept-Language and switch, security headers, safe error pages, escaping."""

from __future__ import annotations

import json
import secrets

from yarl import URL

from server.i18n import LOCALES
from tests.conftest import Node

KO = json.loads((LOCALES / "ko.json").read_text(encoding="utf-8"))
EN = json.loads((LOCALES / "en.json").read_text(encoding="utf-8"))


async def test_login_page_in_korean_and_english(node: Node) -> None:
    async with node.http.get("/login", headers={"Accept-Language": "ko-KR,ko;q=0.9"}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Language"] == "ko"
        page = await resp.text()
    assert '<html lang="ko">' in page
    assert KO["login.title"] in page
    assert EN["login.title"] not in page

    async with node.http.get("/login", headers={"Accept-Language": "en-US,en;q=0.8"}) as resp:
        page = await resp.text()
    assert '<html lang="en">' in page
    assert EN["login.title"] in page
    assert KO["login.title"] not in page


async def test_language_switch_overrides_accept_language(node: Node) -> None:
    korean = {"Accept-Language": "ko"}
    async with node.http.get("/lang/en", params={"next": "/login"}, headers=korean,
                             allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/login"
    async with node.http.get("/login", headers=korean) as resp:
        page = await resp.text()
    assert EN["login.title"] in page
    # Unknown languages and off-site targets change nothing.
    async with node.http.get("/lang/fr", params={"next": "https://evil.example/"},
                             allow_redirects=False) as resp:
        assert resp.headers["Location"] == "/"
    async with node.http.get("/login", headers=korean) as resp:
        assert EN["login.title"] in await resp.text()


async def test_security_headers_on_pages_api_and_errors(node: Node) -> None:
    for path in ("/login", "/api/v1/me", "/no-such-page", "/healthz"):
        async with node.http.get(path, allow_redirects=False) as resp:
            csp = resp.headers.get("Content-Security-Policy", "")
            assert "default-src 'self'" in csp, path
            assert "script-src 'self'" in csp
            assert "'unsafe-inline'" not in csp
            assert "frame-ancestors 'none'" in csp
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["X-Frame-Options"] == "DENY"
            assert resp.headers["Referrer-Policy"] == "same-origin"
            assert resp.headers["X-Request-Id"]


async def test_pages_load_only_our_own_assets(node: Node) -> None:
    async with node.http.get("/login") as resp:
        page = await resp.text()
    assert 'src="http' not in page
    assert 'href="http' not in page
    assert 'href="//' not in page
    assert '<link rel="stylesheet" href="/static/css/onair.css">' in page
    async with node.http.get("/static/css/onair.css") as resp:
        assert resp.status == 200


async def test_error_page_is_html_without_traceback(node: Node) -> None:
    async with node.http.get("/no-such-page", headers={"Accept": "text/html",
                                                        "Accept-Language": "en"}) as resp:
        assert resp.status == 404
        assert resp.content_type == "text/html"
        page = await resp.text()
    assert EN["error.not_found"] in page
    assert "Traceback" not in page


async def test_username_is_escaped_in_the_login_form(node: Node) -> None:
    async with node.http.get("/login") as resp:
        assert resp.status == 200
    csrf = node.http.cookie_jar.filter_cookies(URL(node.url + "/login"))["onair_login_csrf"].value
    # Unique per run: failed logins on the shared database count towards a lock-out.
    mark = secrets.randbelow(10**9)
    hostile = f'"><script>alert({mark})</script>'
    async with node.http.post("/login", data={
        "username": hostile, "password": "whatever-long", "csrf_token": csrf,
    }) as resp:
        assert resp.status == 401
        page = await resp.text()
    assert f"<script>alert({mark})</script>" not in page
    assert f"&lt;script&gt;alert({mark})&lt;/script&gt;" in page


async def test_console_redirects_anonymous_visitors(node: Node) -> None:
    async with node.http.get("/console", allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/login?next=/console"


def test_locales_have_the_same_keys() -> None:
    assert set(KO) == set(EN)
