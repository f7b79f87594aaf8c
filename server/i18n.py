"""Korean and English messages for pages; language from a cookie or Accept-Language."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LOCALES = Path(__file__).parent / "locales"
LANG_COOKIE = "onair_lang"


@cache
def catalog(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    return data


def translate(lang: str, key: str, **values: object) -> str:
    text = catalog(lang).get(key) or catalog("en").get(key) or key
    return text.format(**values) if values else text


def pick_language(cookie: str | None, accept_language: str, supported: tuple[str, ...]) -> str:
    """Cookie first, then the best Accept-Language match, then the first supported."""
    if cookie in supported:
        return cookie
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower().split("-")[0]
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag in supported and quality > 0:
            choices.append((-quality, index, tag))
    if choices:
        return sorted(choices)[0][2]
    return supported[0]
