"""Blocked words, links and keywords: matching survives spacing, symbols and full width."""

from __future__ import annotations

import pytest

from chat.words import (
    BlockedWord,
    KeywordMatcher,
    LinkPolicy,
    WordAction,
    WordFilter,
    check_domain,
    check_word,
    skeleton,
)
from server.errors import DomainError

FILTER = WordFilter([
    BlockedWord("씨발", WordAction.BLOCK),
    BlockedWord("spam", WordAction.SHADOW),
    BlockedWord("바보", WordAction.MASK),
    BlockedWord("dumb", WordAction.MASK),
])


def test_skeleton() -> None:
    assert skeleton("Ｈｅｌｌｏ, World!") == "helloworld"
    assert skeleton("씨 . 발") == "씨발"


@pytest.mark.parametrize("text", [
    "씨발", "야 씨 발", "씨.발", "씨-_-발 진짜", "씨　발", "씨\u200b발",
])
def test_block_survives_spacing_and_symbols(text: str) -> None:
    assert FILTER.check(text).action is WordAction.BLOCK


@pytest.mark.parametrize("text", ["ＳＰＡＭ here", "s p a m", "S.P.A.M", "buy sPaM"])
def test_shadow_survives_full_width_and_case(text: str) -> None:
    assert FILTER.check(text).action is WordAction.SHADOW


def test_mask_replaces_only_the_word() -> None:
    assert FILTER.check("너 바보야").text == "너 ＊＊야"
    assert FILTER.check("너 바 보야").text == "너 ＊ ＊야"
    assert FILTER.check("so ｄｕｍｂ!").text == "so ＊＊＊＊!"
    assert FILTER.check("d.u.m.b").text == "＊＊＊＊＊＊＊"


def test_strongest_action_wins() -> None:
    assert FILTER.check("바보 씨발").action is WordAction.BLOCK
    assert FILTER.check("바보 spam").action is WordAction.SHADOW


def test_clean_text_passes_untouched() -> None:
    verdict = FILTER.check("안녕하세요 좋은 상품이네요")
    assert verdict.action is None
    assert verdict.text == "안녕하세요 좋은 상품이네요"
    assert WordFilter().check("씨발").action is None


def test_word_entries_need_a_letter() -> None:
    assert check_word("  바보 ") == "바보"
    for bad in ("", "!!!", "x" * 51):
        with pytest.raises(DomainError):
            check_word(bad)


@pytest.mark.parametrize("text", [
    "see https://evil.example.net/x", "go to www.evil.com", "evil.com 에서 사요",
    "ｅｖｉｌ．ｃｏｍ", "buy at bit.ly/abc", "HTTP://EVIL.KR",
])
def test_links_blocked_by_default(text: str) -> None:
    assert LinkPolicy().first_refused(text) is not None


@pytest.mark.parametrize("text", [
    "가격은 3.5만원", "version 1.2.3", "hi.", "e.g. this", "no links here", "a@b",
])
def test_not_links(text: str) -> None:
    assert LinkPolicy().first_refused(text) is None


def test_allowed_domains_and_subdomains() -> None:
    policy = LinkPolicy({"myshop.com"})
    assert policy.first_refused("https://myshop.com/p/1") is None
    assert policy.first_refused("m.myshop.com 보세요") is None
    assert policy.first_refused("notmyshop.com") == "notmyshop.com"
    assert policy.first_refused("myshop.com and evil.io") == "evil.io"


def test_domain_entries() -> None:
    assert check_domain(" HTTPS://Shop.Example.com/ ") == "shop.example.com"
    with pytest.raises(DomainError):
        check_domain("not a domain")


def test_keywords() -> None:
    matcher = KeywordMatcher(["응모", "#BUY"])
    assert matcher.find(skeleton("저 응모 합니다!")) == ["응모"]
    assert matcher.find(skeleton("#buy 3")) == ["#BUY"]
    assert matcher.find(skeleton("hello")) == []
    assert KeywordMatcher().find("x") == []
