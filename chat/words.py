"""Text filters: blocked words, the link policy and keyword matching; no I/O.

Matching works on a skeleton of the text: NFKC (full-width letters become plain ones),
case-folded, with everything that is not a letter or digit removed, so `씨 발`,
`씨.발` and `ｆｏｏ` match the entries `씨발` and `foo`. All patterns are compiled
once when the list changes; a message costs one normalisation and one regex search.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from server.errors import Invalid

MASK = "＊"
_SEPARATORS = re.compile(r"[\W_]+")
WORD_MAX = 50


def skeleton(text: str) -> str:
    """NFKC, case-folded, letters and digits only."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text).casefold())


class WordAction(StrEnum):
    BLOCK = "block"  # refuse the message with an error ack
    SHADOW = "shadow"  # accept, but only the author sees it
    MASK = "mask"  # replace the word with ＊


@dataclass(frozen=True, slots=True)
class BlockedWord:
    word: str
    action: WordAction


def check_word(raw: str) -> str:
    """A blocked-word entry must keep at least one letter or digit. Error: invalid_word."""
    word = raw.strip()
    if not word or len(word) > WORD_MAX or not skeleton(word):
        raise Invalid("invalid_word", f"1-{WORD_MAX} characters with a letter or digit")
    return word


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the filter decided: the action of the strongest match (or None) and the text
    to publish (masked when the action is MASK)."""

    action: WordAction | None
    text: str


_STRENGTH = {WordAction.BLOCK: 3, WordAction.SHADOW: 2, WordAction.MASK: 1}


class WordFilter:
    """One compiled alternation over every entry's skeleton, longest first."""

    def __init__(self, entries: list[BlockedWord] | tuple[BlockedWord, ...] = ()) -> None:
        self.entries = tuple(entries)
        self._actions: dict[str, WordAction] = {}
        for entry in self.entries:
            key = skeleton(entry.word)
            current = self._actions.get(key)
            if key and (current is None or _STRENGTH[entry.action] > _STRENGTH[current]):
                self._actions[key] = entry.action
        self._pattern = _alternation(self._actions)

    def check(self, text: str) -> Verdict:
        if self._pattern is None:
            return Verdict(None, text)
        found = {self._actions[m.group(0)] for m in self._pattern.finditer(skeleton(text))}
        if not found:
            return Verdict(None, text)
        action = max(found, key=_STRENGTH.__getitem__)
        if action is WordAction.MASK:
            return Verdict(action, self._mask(text))
        return Verdict(action, text)

    def _mask(self, text: str) -> str:
        """Replace the original characters behind each masked match with ＊."""
        assert self._pattern is not None
        chars: list[str] = []
        origin: list[int] = []
        for index, ch in enumerate(text):
            for part in unicodedata.normalize("NFKC", ch).casefold():
                if part.isalnum():
                    chars.append(part)
                    origin.append(index)
        out = list(text)
        hits = 0
        for match in self._pattern.finditer("".join(chars)):
            if self._actions[match.group(0)] is not WordAction.MASK:
                continue
            hits += 1
            first, last = origin[match.start()], origin[match.end() - 1]
            for index in range(first, last + 1):
                if not out[index].isspace():
                    out[index] = MASK
        if not hits:
            # Only the whole-text normalisation saw it (decomposed jamo composing across
            # characters): mask every letter rather than let it through.
            return "".join(MASK if ch.isalnum() else ch for ch in text)
        return "".join(out)


def _alternation(words: Mapping[str, object]) -> re.Pattern[str] | None:
    if not words:
        return None
    ordered = sorted(words, key=lambda w: (-len(w), w))
    return re.compile("|".join(re.escape(w) for w in ordered))


# Links: anything with a scheme or `www.`, or a bare host ending in a common TLD.
_TLDS = (
    "com", "net", "org", "kr", "io", "co", "me", "ly", "gl", "app", "dev", "shop", "store",
    "site", "online", "xyz", "info", "biz", "link", "club", "live", "tv", "gg", "to", "be",
    "us", "uk", "jp", "cn", "ru", "de", "fr", "in", "ai", "so", "sh", "la", "cc", "ws", "top",
    "vip", "page", "blog",
)
_LINK = re.compile(
    r"(?:(?:https?|ftp)://|www\.)((?:[\w-]+\.)*[\w-]+)"
    r"|(?<![\w.@-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:" + "|".join(_TLDS) + r"))"
    r"(?![\w-])",
    re.IGNORECASE,
)
_DOTS = str.maketrans({"。": ".", "｡": ".", "․": "."})
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$")


def check_domain(raw: str) -> str:
    """An allow-list entry: a lower-case host name. Error: invalid_domain."""
    domain = unicodedata.normalize("NFKC", raw).strip().lower().rstrip(".")
    domain = domain.removeprefix("https://").removeprefix("http://").split("/")[0]
    if not _DOMAIN.match(domain) or len(domain) > 253:
        raise Invalid("invalid_domain", "a host name such as shop.example.com")
    return domain


class LinkPolicy:
    """Links are refused unless their host is an allowed domain or a subdomain of one."""

    def __init__(self, allowed: frozenset[str] | set[str] = frozenset()) -> None:
        self.allowed = frozenset(allowed)

    def first_refused(self, text: str) -> str | None:
        """The first link host that is not allowed, or None."""
        if "." not in text and "．" not in text and "。" not in text and "｡" not in text:
            return None
        folded = unicodedata.normalize("NFKC", text).translate(_DOTS).lower()
        for match in _LINK.finditer(folded):
            host = (match.group(1) or match.group(2) or "").strip(".")
            if not self._allows(host):
                return host
        return None

    def _allows(self, host: str) -> bool:
        if host in self.allowed:
            return True
        parts = host.split(".")
        return any(".".join(parts[i:]) in self.allowed for i in range(1, len(parts)))


class KeywordMatcher:
    """Which registered keywords a message contains (on skeletons, like blocked words)."""

    def __init__(self, keywords: list[str] | tuple[str, ...] = ()) -> None:
        self._by_skeleton: dict[str, str] = {}
        for keyword in keywords:
            key = skeleton(keyword)
            if key:
                self._by_skeleton.setdefault(key, keyword)
        self._pattern = _alternation(dict.fromkeys(self._by_skeleton))

    def find(self, text_skeleton: str) -> list[str]:
        if self._pattern is None:
            return []
        seen: dict[str, None] = {}
        for match in self._pattern.finditer(text_skeleton):
            seen.setdefault(self._by_skeleton[match.group(0)], None)
        return list(seen)
