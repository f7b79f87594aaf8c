"""Shows: the lifecycle, the lineup, pinning and highlights; pure rules that record events."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.errors import Conflict, Invalid, NotFound

MAX_HIGHLIGHTS = 3
MAX_LINEUP = 100
MAX_HOSTS = 5
TITLE_MAX = 120
DESCRIPTION_MAX = 2000
COVER_URL_MAX = 2000


class ShowStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    REHEARSAL = "rehearsal"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


CLOSED = frozenset({ShowStatus.ENDED, ShowStatus.CANCELLED})

# action -> (the statuses it may start from, the status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[ShowStatus], ShowStatus]] = {
    "schedule": (frozenset({ShowStatus.DRAFT}), ShowStatus.SCHEDULED),
    "rehearse": (frozenset({ShowStatus.DRAFT, ShowStatus.SCHEDULED}), ShowStatus.REHEARSAL),
    "go_live": (frozenset({ShowStatus.SCHEDULED, ShowStatus.REHEARSAL}), ShowStatus.LIVE),
    "end": (frozenset({ShowStatus.LIVE}), ShowStatus.ENDED),
    "cancel": (frozenset({ShowStatus.DRAFT, ShowStatus.SCHEDULED}), ShowStatus.CANCELLED),
}


def show_not_found(show_id: object) -> NotFound:
    return NotFound("show_not_found", f"no show {show_id}")


def new_stream_key() -> str:
    return "sk_" + secrets.token_urlsafe(24)


def check_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid("invalid_time_zone", f"unknown time zone {name[:60]!r}") from None
    return name


def check_cover_url(url: str) -> str:
    """Shown under CSP img-src 'self' https:, so only https or same-site paths."""
    url = url.strip()
    if not url:
        return ""
    ok = len(url) <= COVER_URL_MAX and not any(ch.isspace() for ch in url) and (
        (url.startswith("https://") and len(url) > 8)
        or (url.startswith("/") and not url.startswith(("//", "/\\")))
    )
    if not ok:
        raise Invalid("invalid_cover_url", "an https:// URL or a /path on this site")
    return url


def check_title(title: str) -> str:
    clean = " ".join(title.split())
    if not clean or len(clean) > TITLE_MAX:
        raise Invalid("invalid_title", f"1-{TITLE_MAX} characters")
    return clean


@dataclass(frozen=True, slots=True)
class Host:
    user_id: int
    username: str
    display_name: str


@dataclass(slots=True)
class LineupItem:
    product_id: int
    highlighted: bool = False


@dataclass
class Show:
    """A live show. Methods enforce the rules and append to `events` the names of what
    changed ("show", "pinned", "lineup"); the service publishes them after commit."""

    id: int
    title: str
    time_zone: str
    stream_key: str
    status: ShowStatus = ShowStatus.DRAFT
    description: str = ""
    cover_url: str = ""
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    hosts: list[Host] = field(default_factory=list)
    lineup: list[LineupItem] = field(default_factory=list)
    pinned_product_id: int | None = None
    events: list[str] = field(default_factory=list)

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self.status in CLOSED

    def transition(self, action: str, now: datetime) -> None:
        """Apply a lifecycle action. Errors: invalid_transition (409),
        scheduled_start_required (409) when scheduling without a start time."""
        if action not in TRANSITIONS:
            raise Invalid("unknown_action", action)
        sources, target = TRANSITIONS[action]
        if self.status not in sources:
            raise Conflict(
                "invalid_transition", f"cannot {action.replace('_', ' ')} a {self.status} show",
                status_now=str(self.status), action=action,
            )
        if target is ShowStatus.SCHEDULED and self.scheduled_at is None:
            raise Conflict("scheduled_start_required", "set the scheduled start first")
        self.status = target
        if target is ShowStatus.LIVE:
            self.started_at = now
        if target in CLOSED:
            self.ended_at = now
            if self.pinned_product_id is not None:
                self.pinned_product_id = None
                self._record("pinned")
        self._record("show")

    def edit(
        self, *, title: str | None = None, description: str | None = None,
        cover_url: str | None = None, time_zone: str | None = None,
        scheduled_at: datetime | None = None, clear_schedule: bool = False,
        hosts: list[Host] | None = None,
    ) -> None:
        """Change the show's details. Errors: show_closed, scheduled_start_required."""
        self._require_open()
        if title is not None:
            self.title = check_title(title)
        if description is not None:
            if len(description) > DESCRIPTION_MAX:
                raise Invalid("invalid_description", f"at most {DESCRIPTION_MAX} characters")
            self.description = description
        if cover_url is not None:
            self.cover_url = check_cover_url(cover_url)
        if time_zone is not None:
            self.time_zone = check_time_zone(time_zone)
        if clear_schedule:
            if self.status is ShowStatus.SCHEDULED:
                raise Conflict("scheduled_start_required", "a scheduled show needs a start")
            self.scheduled_at = None
        elif scheduled_at is not None:
            if scheduled_at.tzinfo is None:
                raise Invalid("invalid_scheduled_at", "give a time zone offset")
            self.scheduled_at = scheduled_at.astimezone(UTC)
        if hosts is not None:
            if len(hosts) > MAX_HOSTS:
                raise Invalid("too_many_hosts", f"at most {MAX_HOSTS} hosts")
            self.hosts = list(hosts)
        self._record("show")

    def regenerate_stream_key(self) -> str:
        self._require_open()
        self.stream_key = new_stream_key()
        return self.stream_key

    # -- lineup ------------------------------------------------------------------------
    @property
    def product_ids(self) -> list[int]:
        return [item.product_id for item in self.lineup]

    @property
    def highlighted_ids(self) -> list[int]:
        return [item.product_id for item in self.lineup if item.highlighted]

    def add_product(self, product_id: int) -> None:
        """Append a product to the lineup. Errors: already_in_lineup, lineup_full, show_closed."""
        self._require_open()
        if product_id in self.product_ids:
            raise Conflict("already_in_lineup", f"product {product_id} is in the lineup")
        if len(self.lineup) >= MAX_LINEUP:
            raise Conflict("lineup_full", f"at most {MAX_LINEUP} products")
        self.lineup.append(LineupItem(product_id))
        self._record("lineup")

    def remove_product(self, product_id: int) -> None:
        """Take a product off the lineup (and off the pin). Errors: not_in_lineup."""
        self._require_open()
        item = self._item(product_id)
        self.lineup.remove(item)
        if self.pinned_product_id == product_id:
            self.pinned_product_id = None
            self._record("pinned")
        self._record("lineup")

    def reorder(self, product_ids: list[int]) -> None:
        """Put the lineup in this order; it must name every product once.
        Errors: lineup_mismatch."""
        self._require_open()
        if len(product_ids) != len(self.lineup) or set(product_ids) != set(self.product_ids):
            raise Conflict("lineup_mismatch", "list every product of the lineup exactly once")
        by_id = {item.product_id: item for item in self.lineup}
        self.lineup = [by_id[pid] for pid in product_ids]
        self._record("lineup")

    def pin(self, product_id: int) -> None:
        """Make this product the current one, replacing any pinned before.
        Errors: not_in_lineup, show_closed."""
        self._require_open()
        self._item(product_id)
        if self.pinned_product_id == product_id:
            return
        self.pinned_product_id = product_id
        self._record("pinned")

    def unpin(self) -> None:
        self._require_open()
        if self.pinned_product_id is None:
            return
        self.pinned_product_id = None
        self._record("pinned")

    def highlight(self, product_id: int) -> None:
        """Highlight a lineup product; at most three at once. Errors: not_in_lineup,
        too_many_highlights."""
        self._require_open()
        item = self._item(product_id)
        if item.highlighted:
            return
        if len(self.highlighted_ids) >= MAX_HIGHLIGHTS:
            raise Conflict(
                "too_many_highlights", f"at most {MAX_HIGHLIGHTS} highlighted products",
                limit=MAX_HIGHLIGHTS,
            )
        item.highlighted = True
        self._record("lineup")

    def unhighlight(self, product_id: int) -> None:
        self._require_open()
        item = self._item(product_id)
        if not item.highlighted:
            return
        item.highlighted = False
        self._record("lineup")

    # -- helpers -----------------------------------------------------------------------
    def _item(self, product_id: int) -> LineupItem:
        for item in self.lineup:
            if item.product_id == product_id:
                return item
        raise Conflict("not_in_lineup", f"product {product_id} is not in the lineup")

    def _require_open(self) -> None:
        if self.closed:
            raise Conflict("show_closed", f"the show is {self.status}")

    def _record(self, event: str) -> None:
        if event not in self.events:
            self.events.append(event)
