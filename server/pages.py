"""Jinja2 pages: one environment per app, autoescaped, with language and CSRF in context."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

from server.auth.middleware import csrf_of, principal_of
from server.i18n import LANG_COOKIE, pick_language, translate
from server.keys import CSP_NONCE, PAGES, SETTINGS

TEMPLATES = Path(__file__).parent / "templates"


class Pages:
    """Renders templates from server/templates and any context's own template folders."""

    def __init__(self, extra_dirs: list[str] | None = None) -> None:
        loader = jinja2.FileSystemLoader([str(TEMPLATES), *(extra_dirs or [])])
        self.env = jinja2.Environment(
            loader=loader,
            autoescape=jinja2.select_autoescape(("html", "xml"), default=True),
            undefined=jinja2.StrictUndefined,
            enable_async=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def add_dir(self, path: str) -> None:
        """Add a context's template folder, searched after the ones before it."""
        loader = self.env.loader
        assert isinstance(loader, jinja2.FileSystemLoader)
        loader.searchpath.append(path)

    def render(self, name: str, context: dict[str, Any]) -> str:
        return self.env.get_template(name).render(context)


def language_of(request: web.Request) -> str:
    settings = request.app[SETTINGS]
    return pick_language(
        request.cookies.get(LANG_COOKIE),
        request.headers.get("Accept-Language", ""),
        settings.languages,
    )


def render(
    request: web.Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> web.Response:
    """Render a page with `t` (translate), `lang`, `csrf_token`, `principal` and `nonce`."""
    lang = language_of(request)
    nonce = request.get(CSP_NONCE) or secrets.token_urlsafe(16)
    request[CSP_NONCE] = nonce
    base = {
        "lang": lang,
        "t": lambda key, **kw: translate(lang, key, **kw),
        "csrf_token": csrf_of(request),
        "principal": principal_of(request),
        "nonce": nonce,
        "path": request.path_qs,
        "languages": request.app[SETTINGS].languages,
        "quote": quote,
    }
    base.update(context or {})
    html = request.app[PAGES].render(name, base)
    return web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8",
        headers={"Content-Language": lang, "Vary": "Cookie, Accept-Language"},
    )


async def render_error(request: web.Request, status: int, code: str) -> web.Response:
    return render(request, "error.html", {"status": status, "code": code}, status=status)
