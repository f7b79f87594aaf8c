"""Properties over many generated inputs: word matching survives any spacing trick,
masking hides every masked word, and viewer tokens reject any tampering."""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chat.words import MASK, BlockedWord, WordAction, WordFilter, skeleton
from server.auth.tokens import decode_jwt, encode_jwt
from server.errors import Unauthorized

WORDS = ["씨발", "바보", "spam", "dumb", "scam123"]
FILTER = WordFilter([
    BlockedWord("씨발", WordAction.BLOCK),
    BlockedWord("scam123", WordAction.BLOCK),
    BlockedWord("spam", WordAction.SHADOW),
    BlockedWord("바보", WordAction.MASK),
    BlockedWord("dumb", WordAction.MASK),
])
SEPARATORS = st.text(alphabet=" .-_*!~·\u3000\u200b", max_size=3)
# Precomposed syllables and Latin letters only: decomposed jamo would compose across
# the generated boundaries and change what the text says.
FILLER = st.text(alphabet="abcxyz가나다라 ", max_size=12)


def full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


@st.composite
def disguised(draw: st.DrawFn, word: str) -> str:
    """`word` with separators between its characters, maybe full-width, maybe upper."""
    gaps = [draw(SEPARATORS) for _ in word]
    text = "".join(ch + gap for ch, gap in zip(word, gaps, strict=True))
    if draw(st.booleans()):
        text = text.upper()
    if draw(st.booleans()):
        text = full_width(text)
    return draw(FILLER) + text + draw(FILLER)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), word=st.sampled_from(WORDS))
def test_every_disguise_is_caught_with_its_action(data: st.DataObject, word: str) -> None:
    text = data.draw(disguised(word))
    expected = {"씨발": WordAction.BLOCK, "scam123": WordAction.BLOCK,
                "spam": WordAction.SHADOW}.get(word, WordAction.MASK)
    verdict = FILTER.check(text)
    assert verdict.action is not None
    # A stronger word may appear by chance in the filler; never a weaker verdict.
    strength = {WordAction.MASK: 1, WordAction.SHADOW: 2, WordAction.BLOCK: 3}
    assert strength[verdict.action] >= strength[expected]


@settings(max_examples=200, deadline=None)
@given(data=st.data(), word=st.sampled_from(["바보", "dumb"]))
def test_masking_leaves_no_masked_word_readable(data: st.DataObject, word: str) -> None:
    text = data.draw(disguised(word))
    verdict = WordFilter([BlockedWord(word, WordAction.MASK)]).check(text)
    assert verdict.action is WordAction.MASK
    assert len(verdict.text) == len(text)
    assert skeleton(word) not in skeleton(verdict.text)
    assert MASK in verdict.text


def _segments(token: str) -> list[bytes]:
    return [base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in token.split(".")]


CLAIMS = st.fixed_dictionaries(
    {"sub": st.text(min_size=1, max_size=20), "name": st.text(max_size=20)},
    optional={"tier": st.sampled_from(["vip", "gold", "basic"])},
)


@settings(max_examples=100, deadline=None)
@given(claims=CLAIMS)
def test_tokens_round_trip(claims: dict[str, str]) -> None:
    body = {**claims, "exp": int(time.time()) + 600}
    assert decode_jwt(encode_jwt(body, "s" * 32), "s" * 32) == body


@settings(max_examples=200, deadline=None)
@given(claims=CLAIMS, position=st.integers(min_value=0), replacement=st.sampled_from("AQgw_-"))
def test_any_changed_character_is_refused(
    claims: dict[str, str], position: int, replacement: str
) -> None:
    token = encode_jwt({**claims, "exp": int(time.time()) + 600}, "s" * 32)
    index = position % len(token)
    if token[index] == "." or token[index] == replacement:
        return  # not a change, or a change of structure that has its own test
    tampered = token[:index] + replacement + token[index + 1:]
    # The last character of a base64 segment carries unused bits: changing only those
    # leaves the same bytes, which is the same (still valid) token.
    assume(_segments(tampered) != _segments(token))
    with pytest.raises(Unauthorized) as caught:
        decode_jwt(tampered, "s" * 32)
    assert caught.value.code == "token_invalid"
