"""The JSON shapes of shows and lineups as staff and viewers receive them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from broadcasts.domain import Show
from orders.catalog_domain import ProductCard


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def public_show(show: Show) -> dict[str, Any]:
    """What anyone who may watch the show sees (no stream key, no user ids)."""
    return {
        "id": show.id,
        "title": show.title,
        "description": show.description,
        "cover_url": show.cover_url,
        "status": str(show.status),
        "time_zone": show.time_zone,
        "scheduled_at": iso(show.scheduled_at),
        "started_at": iso(show.started_at),
        "ended_at": iso(show.ended_at),
        "hosts": [host.display_name for host in show.hosts],
    }


def lineup_cards(show: Show, cards: dict[int, ProductCard]) -> list[dict[str, Any]]:
    """Lineup entries in order, each a product card plus its place and highlight."""
    out = []
    for position, item in enumerate(show.lineup):
        card = cards.get(item.product_id)
        if card is None:
            continue
        out.append({
            **card.as_dict(), "position": position, "highlighted": item.highlighted,
            "pinned": item.product_id == show.pinned_product_id,
        })
    return out


def pinned_card(show: Show, cards: dict[int, ProductCard]) -> dict[str, Any] | None:
    if show.pinned_product_id is None:
        return None
    card = cards.get(show.pinned_product_id)
    return card.as_dict() if card is not None else None


def highlighted_cards(show: Show, cards: dict[int, ProductCard]) -> list[dict[str, Any]]:
    return [cards[pid].as_dict() for pid in show.highlighted_ids if pid in cards]


def snapshot(show: Show, cards: dict[int, ProductCard]) -> dict[str, Any]:
    """The join snapshot's part from this context."""
    return {
        "show": public_show(show),
        "pinned": pinned_card(show, cards),
        "highlighted": highlighted_cards(show, cards),
        "lineup": lineup_cards(show, cards),
    }
