"""Show use cases: create, edit, lifecycle, lineup and pin; publishes after each commit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts import payloads
from broadcasts.domain import (
    CLOSED,
    MAX_HOSTS,
    Host,
    LineupItem,
    Show,
    ShowStatus,
    check_title,
    new_stream_key,
    show_not_found,
)
from broadcasts.tables import LineupRow, ShowHostRow, ShowRow
from orders.catalog_domain import ProductCard, product_not_found
from server.auth.domain import Principal
from server.auth.service import UserInfo
from server.db import utcnow
from server.errors import Invalid

log = logging.getLogger("onair.shows")

SNAPSHOT_TTL = 2.0


class Catalog(Protocol):
    async def cards(self, product_ids: Iterable[int]) -> dict[int, ProductCard]: ...


class Users(Protocol):
    async def find_user(self, username: str) -> UserInfo | None: ...


class Publisher(Protocol):
    """How shows reach viewers: the real-time hub behind a narrow port."""

    async def publish(self, show_id: int, event: str, payload: dict[str, Any]) -> None: ...

    def stock(self, show_id: int, product_id: int, stock: int) -> None: ...

    async def invalidate(self, show_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class NewShow:
    title: str
    description: str = ""
    cover_url: str = ""
    time_zone: str | None = None
    scheduled_at: datetime | None = None
    hosts: list[str] | None = None


class ShowService:
    """Shows and their lineups. Every change is committed, then published."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        catalog: Catalog,
        users: Users,
        publisher: Publisher,
        *,
        default_time_zone: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._users = users
        self._publisher = publisher
        self._time_zone = default_time_zone
        self._clock = clock
        self._snapshots: dict[int, tuple[float, Show, dict[str, Any]]] = {}
        # Bumped by forget(): a snapshot read before a change is never cached after it.
        self._generation: dict[int, int] = {}

    # -- reads ------------------------------------------------------------------------
    async def list_shows(
        self, actor: Principal, *, status: ShowStatus | None = None, limit: int = 50,
        offset: int = 0,
    ) -> list[Show]:
        """Shows, newest first, optionally of one status (shows:read)."""
        actor.require("shows:read")
        query = select(ShowRow).order_by(ShowRow.id.desc()).limit(limit).offset(offset)
        if status is not None:
            query = query.where(ShowRow.status == str(status))
        async with self._sessions() as db:
            rows = list(await db.scalars(query))
            return await self._hydrate(db, rows, lineup=False)

    async def upcoming(self, limit: int = 50) -> list[Show]:
        """Public: shows on air now, then scheduled ones by start time (the site root)."""
        async with self._sessions() as db:
            live = list(await db.scalars(
                select(ShowRow).where(ShowRow.status == ShowStatus.LIVE.value)
                .order_by(ShowRow.started_at.desc()).limit(limit)
            ))
            later = list(await db.scalars(
                select(ShowRow).where(ShowRow.status.in_(
                    [ShowStatus.SCHEDULED.value, ShowStatus.REHEARSAL.value]))
                .order_by(ShowRow.scheduled_at, ShowRow.id).limit(limit)
            ))
            return await self._hydrate(db, live + later, lineup=False)

    async def get_show(self, actor: Principal, show_id: int) -> Show:
        """One show with hosts and lineup (shows:read). Errors: show_not_found."""
        actor.require("shows:read")
        async with self._sessions() as db:
            return await self._load(db, show_id)

    async def viewable_show(self, principal: Principal, show_id: int) -> Show:
        """A show as its viewer page may show it; drafts exist only for staff.
        Errors: show_not_found."""
        show = await self._cached_show(show_id)
        if show.status is ShowStatus.DRAFT and not principal.is_staff:
            raise show_not_found(show_id)
        return show

    async def lineup_cards(self, show: Show) -> list[dict[str, Any]]:
        cards = await self._catalog.cards(show.product_ids)
        return payloads.lineup_cards(show, cards)

    async def snapshot(self, show_id: int, principal: Principal) -> dict[str, Any]:
        """The join snapshot: show, pinned card, highlighted cards and the lineup with
        live stock. Cached briefly; every change here drops the cache on all nodes."""
        show = await self.viewable_show(principal, show_id)
        entry = self._snapshots.get(show_id)
        if entry is not None and entry[1] is show:
            return entry[2]
        cards = await self._catalog.cards(show.product_ids)
        return payloads.snapshot(show, cards)

    async def check_join(self, show_id: int, principal: Principal) -> None:
        """Errors: show_not_found for unknown shows and, unless staff, for drafts."""
        await self.viewable_show(principal, show_id)

    def forget(self, show_id: int) -> None:
        """Drop the cached snapshot (called on every node when a show changes)."""
        self._snapshots.pop(show_id, None)
        self._generation[show_id] = self._generation.get(show_id, 0) + 1

    async def _cached_show(self, show_id: int) -> Show:
        entry = self._snapshots.get(show_id)
        now = time.monotonic()
        if entry is not None and entry[0] > now:
            return entry[1]
        generation = self._generation.get(show_id, 0)
        async with self._sessions() as db:
            show = await self._load(db, show_id)
        cards = await self._catalog.cards(show.product_ids)
        entry = (now + SNAPSHOT_TTL, show, payloads.snapshot(show, cards))
        if self._generation.get(show_id, 0) == generation:
            self._snapshots[show_id] = entry
        if len(self._snapshots) > 1000:
            for key in [k for k, v in self._snapshots.items() if v[0] <= now]:
                del self._snapshots[key]
        return show

    # -- writes -----------------------------------------------------------------------
    async def create_show(self, actor: Principal, new: NewShow) -> Show:
        """Create a draft show (shows:write); the creator hosts it unless `hosts` names
        console users. Errors: invalid_title, invalid_time_zone, invalid_cover_url,
        unknown_host, too_many_hosts."""
        actor.require("shows:write")
        hosts = await self._hosts(actor, new.hosts)
        show = Show(
            id=0, title=check_title(new.title), time_zone=self._time_zone,
            stream_key=new_stream_key(),
        )
        show.edit(
            description=new.description, cover_url=new.cover_url,
            time_zone=new.time_zone, scheduled_at=new.scheduled_at, hosts=hosts,
        )
        now = self._clock()
        async with self._sessions.begin() as db:
            result = await db.execute(insert(ShowRow).values(
                **self._row_values(show), created_at=now, updated_at=now,
            ).returning(ShowRow.id))
            show.id = int(result.scalar_one())
            await self._save_hosts(db, show)
        show.events.clear()
        return show

    async def edit_show(self, actor: Principal, show_id: int, changes: dict[str, Any]) -> Show:
        """Change title, description, cover_url, time_zone, scheduled_at (null clears it
        unless scheduled) or hosts (usernames) (shows:write). Errors: show_not_found,
        show_closed, scheduled_start_required, invalid_*."""
        actor.require("shows:write")
        hosts = await self._hosts(actor, changes["hosts"]) if "hosts" in changes else None
        clear = "scheduled_at" in changes and changes["scheduled_at"] is None

        def apply(show: Show) -> None:
            show.edit(
                title=changes.get("title"), description=changes.get("description"),
                cover_url=changes.get("cover_url"), time_zone=changes.get("time_zone"),
                scheduled_at=changes.get("scheduled_at"), clear_schedule=clear, hosts=hosts,
            )

        return await self._change(show_id, apply, hosts_changed=hosts is not None)

    async def transition(self, actor: Principal, show_id: int, action: str) -> Show:
        """schedule | rehearse | go_live | end | cancel (shows:control).
        Errors: show_not_found, invalid_transition, scheduled_start_required."""
        actor.require("shows:control")
        now = self._clock()
        return await self._change(show_id, lambda show: show.transition(action, now))

    async def regenerate_stream_key(self, actor: Principal, show_id: int) -> Show:
        """A new stream key; the old one stops working (shows:control)."""
        actor.require("shows:control")
        return await self._change(show_id, lambda show: show.regenerate_stream_key())

    async def add_product(self, actor: Principal, show_id: int, product_id: int) -> Show:
        """Append a catalog product to the lineup (shows:write). Errors: show_not_found,
        product_not_found, already_in_lineup, lineup_full, show_closed."""
        actor.require("shows:write")
        if product_id not in await self._catalog.cards([product_id]):
            raise product_not_found(product_id)
        return await self._change(show_id, lambda show: show.add_product(product_id))

    async def remove_product(self, actor: Principal, show_id: int, product_id: int) -> Show:
        """Take a product off the lineup (shows:write). Errors: not_in_lineup."""
        actor.require("shows:write")
        return await self._change(show_id, lambda show: show.remove_product(product_id))

    async def reorder(self, actor: Principal, show_id: int, product_ids: list[int]) -> Show:
        """Set the lineup order (shows:write). Errors: lineup_mismatch."""
        actor.require("shows:write")
        return await self._change(show_id, lambda show: show.reorder(product_ids))

    async def pin(self, actor: Principal, show_id: int, product_id: int | None) -> Show:
        """Pin a lineup product as the current one, or unpin with None (shows:control).
        Errors: not_in_lineup, show_closed."""
        actor.require("shows:control")

        def apply(show: Show) -> None:
            if product_id is None:
                show.unpin()
            else:
                show.pin(product_id)

        return await self._change(show_id, apply)

    async def highlight(
        self, actor: Principal, show_id: int, product_id: int, on: bool
    ) -> Show:
        """Highlight (at most three) or un-highlight a lineup product (shows:control).
        Errors: not_in_lineup, too_many_highlights."""
        actor.require("shows:control")

        def apply(show: Show) -> None:
            if on:
                show.highlight(product_id)
            else:
                show.unhighlight(product_id)

        return await self._change(show_id, apply)

    async def stock_changed(self, product_id: int, stock: int) -> None:
        """Catalog listener: put the new stock on every open show that lists the product."""
        async with self._sessions() as db:
            show_ids = list(await db.scalars(
                select(LineupRow.show_id).join(ShowRow, ShowRow.id == LineupRow.show_id)
                .where(LineupRow.product_id == product_id)
                .where(ShowRow.status.not_in([s.value for s in CLOSED]))
            ))
        for show_id in show_ids:
            await self._publisher.invalidate(show_id)
            self._publisher.stock(show_id, product_id, stock)

    # -- persistence ------------------------------------------------------------------
    async def _change(
        self, show_id: int, apply: Callable[[Show], object], *, hosts_changed: bool = False
    ) -> Show:
        async with self._sessions.begin() as db:
            show = await self._load(db, show_id, lock=True)
            before = [(item.product_id, item.highlighted) for item in show.lineup]
            apply(show)
            if not show.events and not hosts_changed:
                return show
            await db.execute(
                update(ShowRow).where(ShowRow.id == show.id)
                .values(**self._row_values(show), updated_at=self._clock())
            )
            if [(i.product_id, i.highlighted) for i in show.lineup] != before:
                await db.execute(delete(LineupRow).where(LineupRow.show_id == show.id))
                if show.lineup:
                    await db.execute(insert(LineupRow), [
                        {"show_id": show.id, "product_id": item.product_id,
                         "position": pos, "highlighted": item.highlighted}
                        for pos, item in enumerate(show.lineup)
                    ])
            if hosts_changed:
                await db.execute(delete(ShowHostRow).where(ShowHostRow.show_id == show.id))
                await self._save_hosts(db, show)
        await self._publish(show)
        return show

    async def _publish(self, show: Show) -> None:
        events, show.events = list(show.events), []
        try:
            await self._publisher.invalidate(show.id)
            cards = await self._catalog.cards(show.product_ids)
            for event in events:
                if event == "show":
                    payload: dict[str, Any] = {"show": payloads.public_show(show)}
                elif event == "pinned":
                    payload = {"product": payloads.pinned_card(show, cards)}
                else:
                    payload = {
                        "lineup": payloads.lineup_cards(show, cards),
                        "highlighted": payloads.highlighted_cards(show, cards),
                    }
                await self._publisher.publish(show.id, event, payload)
        except Exception:
            # Committed already: the answer stands; viewers catch up on their next join.
            log.exception("publishing %s for show %s failed", events, show.id)

    @staticmethod
    def _row_values(show: Show) -> dict[str, Any]:
        return {
            "title": show.title, "description": show.description,
            "cover_url": show.cover_url, "time_zone": show.time_zone,
            "status": show.status.value, "stream_key": show.stream_key,
            "scheduled_at": show.scheduled_at, "started_at": show.started_at,
            "ended_at": show.ended_at, "pinned_product_id": show.pinned_product_id,
        }

    @staticmethod
    async def _save_hosts(db: AsyncSession, show: Show) -> None:
        if show.hosts:
            await db.execute(insert(ShowHostRow), [
                {"show_id": show.id, "user_id": host.user_id, "position": pos,
                 "username": host.username, "display_name": host.display_name}
                for pos, host in enumerate(show.hosts)
            ])

    async def _load(self, db: AsyncSession, show_id: int, *, lock: bool = False) -> Show:
        query = select(ShowRow).where(ShowRow.id == show_id)
        if lock:
            query = query.with_for_update()
        row = await db.scalar(query)
        if row is None:
            raise show_not_found(show_id)
        return (await self._hydrate(db, [row], lineup=True))[0]

    async def _hydrate(self, db: AsyncSession, rows: list[ShowRow], *, lineup: bool) -> list[Show]:
        ids = [row.id for row in rows]
        hosts: dict[int, list[Host]] = {}
        items: dict[int, list[LineupItem]] = {}
        if ids:
            for h in await db.scalars(
                select(ShowHostRow).where(ShowHostRow.show_id.in_(ids))
                .order_by(ShowHostRow.show_id, ShowHostRow.position)
            ):
                hosts.setdefault(h.show_id, []).append(Host(h.user_id, h.username, h.display_name))
            if lineup:
                for item in await db.scalars(
                    select(LineupRow).where(LineupRow.show_id.in_(ids))
                    .order_by(LineupRow.show_id, LineupRow.position)
                ):
                    items.setdefault(item.show_id, []).append(
                        LineupItem(item.product_id, item.highlighted))
        return [
            Show(
                id=row.id, title=row.title, time_zone=row.time_zone, stream_key=row.stream_key,
                status=ShowStatus(row.status), description=row.description,
                cover_url=row.cover_url, scheduled_at=row.scheduled_at,
                started_at=row.started_at, ended_at=row.ended_at,
                hosts=hosts.get(row.id, []), lineup=items.get(row.id, []),
                pinned_product_id=row.pinned_product_id,
            )
            for row in rows
        ]

    async def _hosts(self, actor: Principal, usernames: list[str] | None) -> list[Host]:
        if usernames is None:
            if actor.kind == "staff" and actor.id.startswith("u"):
                usernames = [actor.name]
            else:
                return []
        if len(usernames) > MAX_HOSTS:
            raise Invalid("too_many_hosts", f"at most {MAX_HOSTS} hosts")
        hosts: list[Host] = []
        for name in dict.fromkeys(usernames):
            user = await self._users.find_user(name)
            if user is None:
                raise Invalid("unknown_host", f"no console user {name[:40]!r}", username=name[:40])
            hosts.append(Host(user.id, user.username, user.display_name))
        return hosts

