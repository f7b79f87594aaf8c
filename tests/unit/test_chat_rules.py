"""Chat domain rules: text cleaning, badges, modes, sanctions, limits with exact waits."""

from __future__ import annotations

import pytest

from chat.domain import (
    Mode,
    Sanction,
    SanctionKind,
    Sanctions,
    ShowChatSettings,
    badges_for,
    check_may_speak,
    clean_nonce,
    clean_text,
)
from chat.limits import FloodGuard, FloodRule, SlowMode, TokenBucket
from server.auth.domain import staff_principal, viewer_principal
from server.errors import DomainError

GUEST = viewer_principal("g_1", "guest", None, guest=True)
MEMBER = viewer_principal("s_1", "member", "gold", guest=False)
HOST = staff_principal(1, "host", "host")
MOD = staff_principal(2, "mod", "moderator")
MARKETER = staff_principal(3, "mk", "marketer")


def code_of(call: object) -> tuple[str, dict[str, object]]:
    assert callable(call)
    with pytest.raises(DomainError) as info:
        call()
    return info.value.code, info.value.extra


def test_text_is_cleaned() -> None:
    assert clean_text("  hi\tthere\n\nfriend  ") == "hi there friend"
    assert clean_text("a\x00b\x1bc\u202ed\u200be\x7f") == "abcde"
    assert clean_text("👨\u200d👩\u200d👧") == "👨\u200d👩\u200d👧"  # ZWJ sequences stay


def test_text_errors() -> None:
    assert code_of(lambda: clean_text("  \x00 "))[0] == "empty_message"
    assert code_of(lambda: clean_text(5))[0] == "invalid_text"
    assert clean_text("가" * 200) == "가" * 200
    assert code_of(lambda: clean_text("가" * 201)) == ("message_too_long", {"max_chars": 200})
    assert code_of(lambda: clean_text("x" * 11, max_chars=10))[0] == "message_too_long"


def test_nonce() -> None:
    assert clean_nonce("abc-123") == "abc-123"
    for bad in ("", "x" * 65, "한글", 12, None, "a\nb"):
        assert code_of(lambda bad=bad: clean_nonce(bad))[0] == "invalid_nonce"


def test_badges() -> None:
    assert badges_for(HOST) == ("host",)
    assert badges_for(MOD) == ("moderator",)
    assert badges_for(MARKETER) == ("staff",)
    assert badges_for(MEMBER) == ("tier:gold",)
    assert badges_for(GUEST) == ()


def test_frozen_and_members_only() -> None:
    frozen = ShowChatSettings(frozen=True)
    assert code_of(lambda: check_may_speak(frozen, GUEST, 0.0, 10.0))[0] == "chat_frozen"
    check_may_speak(frozen, MOD, None, 10.0)
    members = ShowChatSettings(mode=Mode.MEMBERS)
    assert code_of(lambda: check_may_speak(members, GUEST, 0.0, 10.0))[0] == "members_only"
    check_may_speak(members, MEMBER, 0.0, 10.0)


def test_established_only_waits_exactly() -> None:
    settings = ShowChatSettings(mode=Mode.ESTABLISHED, established_minutes=5)
    code, extra = code_of(lambda: check_may_speak(settings, MEMBER, 1000.0, 1100.0))
    assert (code, extra) == ("established_only", {"retry_after": 200.0})
    check_may_speak(settings, MEMBER, 1000.0, 1300.0)
    assert code_of(lambda: check_may_speak(settings, MEMBER, None, 1300.0))[0] == (
        "established_only")


def test_settings_changes_are_checked() -> None:
    settings = ShowChatSettings().changed(slow_seconds=10, mode="members")
    assert settings.as_dict() == {"slow_seconds": 10, "mode": "members",
                                  "established_minutes": 0, "frozen": False}
    for bad in ({"slow_seconds": -1}, {"slow_seconds": True}, {"mode": "x"}, {"frozen": 1},
                {"colour": "red"}):
        assert code_of(lambda bad=bad: settings.changed(**bad))[0] == "invalid_setting"


def test_sanctions() -> None:
    book = Sanctions()
    book.add(Sanction(SanctionKind.TIMEOUT, "u1", 7, until=160.0))
    book.add(Sanction(SanctionKind.BAN, "u2", None))
    book.add(Sanction(SanctionKind.BAN, "u3", 7))
    assert code_of(lambda: book.check(7, "u1", 100.0)) == ("timed_out", {"retry_after": 60.0})
    book.check(8, "u1", 100.0)  # other show
    book.check(7, "u1", 160.0)  # expired
    assert code_of(lambda: book.check(9, "u2", 0.0))[0] == "banned"  # shop-wide
    assert code_of(lambda: book.check(7, "u3", 0.0))[0] == "banned"
    book.check(8, "u3", 0.0)
    book.lift(7, "u3")
    book.check(7, "u3", 0.0)
    book.prune(200.0)
    assert (7, "u1") not in book.by_key


def test_token_bucket_exact_retry_after() -> None:
    bucket = TokenBucket(20, 30.0)
    assert all(bucket.take("u", 100.0) == 0.0 for _ in range(20))
    assert bucket.take("u", 100.0) == pytest.approx(1.5)
    assert bucket.take("u", 101.0) == pytest.approx(0.5)
    assert bucket.take("u", 101.5) == 0.0
    assert bucket.take("u", 101.5) == pytest.approx(1.5)
    assert bucket.take("other", 101.5) == 0.0


def test_token_bucket_prune_forgets_full_buckets_only() -> None:
    bucket = TokenBucket(2, 10.0)
    bucket.take("a", 0.0)
    bucket.take("b", 9.0)
    bucket.prune(10.0)
    assert bucket.take("b", 10.0) == 0.0
    assert bucket.take("b", 10.0) == pytest.approx(4.0)


def test_slow_mode() -> None:
    slow = SlowMode()
    assert slow.wait("s:u", 10, 50.0) == 0.0
    slow.record("s:u", 50.0)
    assert slow.wait("s:u", 10, 53.0) == 7.0
    assert slow.wait("s:u", 10, 60.0) == 0.0
    assert slow.wait("s:u", 0, 51.0) == 0.0


def test_flood_guard_refuses_third_copy() -> None:
    flood = FloodGuard(FloodRule(repeats=2, window=30.0))
    flood.record("u", "응모", 0.0)
    assert flood.wait("u", "응모", 1.0) == 0.0
    flood.record("u", "응모", 1.0)
    assert flood.wait("u", "응모", 2.0) == 28.0
    assert flood.wait("u", "다른말", 2.0) == 0.0
    assert flood.wait("v", "응모", 2.0) == 0.0
    assert flood.wait("u", "응모", 30.5) == 0.0
