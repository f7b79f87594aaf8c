"""Show lifecycle and lineup rules, with no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broadcasts.domain import (
    MAX_HIGHLIGHTS,
    MAX_LINEUP,
    TRANSITIONS,
    LineupItem,
    Show,
    ShowStatus,
    check_cover_url,
    check_time_zone,
)
from server.errors import Conflict, Invalid

NOW = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


def make_show(status: ShowStatus = ShowStatus.DRAFT, products: int = 0) -> Show:
    show = Show(id=1, title="겨울 니트", time_zone="Asia/Seoul", stream_key="sk_x",
                status=status, scheduled_at=NOW + timedelta(hours=1))
    for pid in range(1, products + 1):
        show.lineup.append(LineupItem(pid))
    return show


ALLOWED = {
    ("schedule", ShowStatus.DRAFT): ShowStatus.SCHEDULED,
    ("rehearse", ShowStatus.DRAFT): ShowStatus.REHEARSAL,
    ("rehearse", ShowStatus.SCHEDULED): ShowStatus.REHEARSAL,
    ("go_live", ShowStatus.SCHEDULED): ShowStatus.LIVE,
    ("go_live", ShowStatus.REHEARSAL): ShowStatus.LIVE,
    ("end", ShowStatus.LIVE): ShowStatus.ENDED,
    ("cancel", ShowStatus.DRAFT): ShowStatus.CANCELLED,
    ("cancel", ShowStatus.SCHEDULED): ShowStatus.CANCELLED,
}
ALL_PAIRS = [(action, status) for action in TRANSITIONS for status in ShowStatus]


def test_transition_table_is_the_documented_one() -> None:
    table = {
        (action, source): target
        for action, (sources, target) in TRANSITIONS.items() for source in sources
    }
    assert table == ALLOWED


@pytest.mark.parametrize(("action", "status"), [p for p in ALL_PAIRS if p in ALLOWED])
def test_allowed_transition(action: str, status: ShowStatus) -> None:
    show = make_show(status)
    show.transition(action, NOW)
    assert show.status is ALLOWED[(action, status)]
    assert show.events == ["show"]


@pytest.mark.parametrize(("action", "status"), [p for p in ALL_PAIRS if p not in ALLOWED])
def test_forbidden_transition(action: str, status: ShowStatus) -> None:
    show = make_show(status)
    with pytest.raises(Conflict) as caught:
        show.transition(action, NOW)
    assert caught.value.code == "invalid_transition"
    assert show.status is status
    assert show.events == []


def test_unknown_action_is_invalid() -> None:
    with pytest.raises(Invalid):
        make_show().transition("explode", NOW)


def test_schedule_needs_a_start() -> None:
    show = make_show()
    show.scheduled_at = None
    with pytest.raises(Conflict) as caught:
        show.transition("schedule", NOW)
    assert caught.value.code == "scheduled_start_required"
    assert show.status is ShowStatus.DRAFT


def test_go_live_and_end_stamp_times_and_clear_the_pin() -> None:
    show = make_show(ShowStatus.REHEARSAL, products=2)
    show.transition("go_live", NOW)
    assert show.started_at == NOW
    assert show.ended_at is None
    show.pin(2)
    show.events.clear()
    later = NOW + timedelta(hours=1)
    show.transition("end", later)
    assert show.ended_at == later
    assert show.pinned_product_id is None
    assert show.events == ["pinned", "show"]


def test_scheduled_show_cannot_lose_its_start() -> None:
    show = make_show(ShowStatus.SCHEDULED)
    with pytest.raises(Conflict) as caught:
        show.edit(clear_schedule=True)
    assert caught.value.code == "scheduled_start_required"
    draft = make_show()
    draft.edit(clear_schedule=True)
    assert draft.scheduled_at is None


@pytest.mark.parametrize("status", [ShowStatus.ENDED, ShowStatus.CANCELLED])
def test_closed_show_refuses_changes(status: ShowStatus) -> None:
    show = make_show(status, products=1)
    for change in (lambda: show.pin(1), lambda: show.add_product(9), lambda: show.edit(title="x"),
                   lambda: show.highlight(1), lambda: show.remove_product(1), show.unpin):
        with pytest.raises(Conflict) as caught:
            change()
        assert caught.value.code == "show_closed"


def test_pin_replaces_and_unpin_clears() -> None:
    show = make_show(products=3)
    show.pin(1)
    show.pin(2)
    assert show.pinned_product_id == 2
    assert show.events == ["pinned"]
    show.events.clear()
    show.pin(2)
    assert show.events == []  # pinning the pinned product changes nothing
    show.unpin()
    assert show.pinned_product_id is None
    assert show.events == ["pinned"]
    show.events.clear()
    show.unpin()
    assert show.events == []


def test_pin_needs_a_lineup_product() -> None:
    show = make_show(products=1)
    with pytest.raises(Conflict) as caught:
        show.pin(7)
    assert caught.value.code == "not_in_lineup"


def test_at_most_three_highlights() -> None:
    show = make_show(products=MAX_HIGHLIGHTS + 1)
    for pid in range(1, MAX_HIGHLIGHTS + 1):
        show.highlight(pid)
    show.highlight(1)  # again: no change, no error
    with pytest.raises(Conflict) as caught:
        show.highlight(MAX_HIGHLIGHTS + 1)
    assert caught.value.code == "too_many_highlights"
    assert show.highlighted_ids == [1, 2, 3]
    show.unhighlight(2)
    show.highlight(MAX_HIGHLIGHTS + 1)
    assert show.highlighted_ids == [1, 3, 4]


def test_lineup_add_remove_reorder() -> None:
    show = make_show()
    for pid in (5, 6, 7):
        show.add_product(pid)
    with pytest.raises(Conflict) as dup:
        show.add_product(6)
    assert dup.value.code == "already_in_lineup"
    show.reorder([7, 5, 6])
    assert show.product_ids == [7, 5, 6]
    for bad in ([7, 5], [7, 5, 5], [7, 5, 6, 8], [7, 5, 9]):
        with pytest.raises(Conflict) as caught:
            show.reorder(bad)
        assert caught.value.code == "lineup_mismatch"
    show.pin(5)
    show.highlight(5)
    show.events.clear()
    show.remove_product(5)
    assert show.product_ids == [7, 6]
    assert show.pinned_product_id is None
    assert show.highlighted_ids == []
    assert show.events == ["pinned", "lineup"]
    with pytest.raises(Conflict) as missing:
        show.remove_product(5)
    assert missing.value.code == "not_in_lineup"


def test_lineup_is_bounded() -> None:
    show = make_show(products=MAX_LINEUP)
    with pytest.raises(Conflict) as caught:
        show.add_product(MAX_LINEUP + 1)
    assert caught.value.code == "lineup_full"


def test_field_checks() -> None:
    assert check_time_zone("Asia/Seoul") == "Asia/Seoul"
    for zone in ("Mars/Olympus", "../etc/passwd", ""):
        with pytest.raises(Invalid):
            check_time_zone(zone)
    assert check_cover_url("https://cdn.example/a.jpg") == "https://cdn.example/a.jpg"
    assert check_cover_url("/static/img/a.jpg") == "/static/img/a.jpg"
    for url in ("javascript:alert(1)", "http://x/a.jpg", "//evil/a.jpg", "https://", "https://a b"):
        with pytest.raises(Invalid):
            check_cover_url(url)
    show = make_show()
    with pytest.raises(Invalid):
        show.edit(title="   ")
    with pytest.raises(Invalid):
        show.edit(scheduled_at=datetime(2026, 12, 1, 20, 0))  # naive
