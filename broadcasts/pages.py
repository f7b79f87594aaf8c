"""HTML pages of shows: the site root, the console list, the control room, the viewer page."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from broadcasts.domain import TRANSITIONS, ShowStatus, check_time_zone
from broadcasts.http import show_id_of
from broadcasts.service import NewShow
from server.auth.middleware import principal_of
from server.console import require_staff_page
from server.errors import DomainError, Invalid, NotFound
from server.i18n import translate
from server.keys import CATALOG, SETTINGS, SHOWS
from server.pages import language_of, render

ZONES = ("Asia/Seoul", "Asia/Tokyo", "Asia/Shanghai", "America/Los_Angeles",
         "America/New_York", "Europe/London", "UTC")


def krw(lang: str, amount: int) -> str:
    return translate(lang, "catalog.price", amount=f"{amount:,}")


def local_time(value: datetime | None, zone: str) -> str:
    """A UTC instant shown in the show's zone, e.g. 2026-12-01 20:00 KST."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or zone)


def _helpers(request: web.Request) -> dict[str, Any]:
    lang = language_of(request)
    return {"krw": lambda amount: krw(lang, amount), "local_time": local_time}


async def home(request: web.Request) -> web.Response:
    shows = await request.app[SHOWS].upcoming()
    return render(request, "shows_home.html", {"shows": shows, **_helpers(request)})


async def console_home(request: web.Request, *, error: str = "", form: dict[str, str] | None
                       = None, status: int = 200) -> web.Response:
    require_staff_page(request)
    who = principal_of(request)
    shows = await request.app[SHOWS].list_shows(who, limit=100) if who.can("shows:read") else []
    return render(request, "shows_console.html", {
        "shows": shows, "error": error, "form": form or {},
        "zones": _zones(request), "can_create": who.can("shows:write"),
        **_helpers(request),
    }, status=status)


async def console_index(request: web.Request) -> web.Response:
    return await console_home(request)


async def create_from_form(request: web.Request) -> web.Response:
    """The console's create form (CSRF checked by the auth middleware)."""
    require_staff_page(request)
    form = await request.post()
    fields = {key: str(form.get(key, ""))[:2100] for key in
              ("title", "description", "cover_url", "time_zone", "scheduled_at")}
    try:
        zone = check_time_zone(fields["time_zone"] or request.app[SETTINGS].time_zone)
        scheduled = _parse_local(fields["scheduled_at"], zone)
        show = await request.app[SHOWS].create_show(principal_of(request), NewShow(
            title=fields["title"], description=fields["description"],
            cover_url=fields["cover_url"], time_zone=zone, scheduled_at=scheduled,
        ))
    except DomainError as exc:
        message = translate(language_of(request), f"show.error.{exc.code}")
        if message == f"show.error.{exc.code}":
            message = exc.detail
        return await console_home(request, error=message, form=fields,
                                  status=exc.status)
    raise web.HTTPSeeOther(f"/console/shows/{show.id}")


async def control_room(request: web.Request) -> web.Response:
    require_staff_page(request)
    who = principal_of(request)
    service = request.app[SHOWS]
    try:
        show = await service.get_show(who, show_id_of(request))
    except NotFound:
        raise web.HTTPNotFound() from None
    lineup = await service.lineup_cards(show)
    in_lineup = set(show.product_ids)
    products = []
    if who.can("catalog:read") and who.can("shows:write"):
        products = [p for p in await request.app[CATALOG].list_products(who, limit=200)
                    if p.id not in in_lineup]
    return render(request, "control_room.html", {
        "show": show, "lineup": lineup, "products": products,
        "can_control": who.can("shows:control"), "can_write": who.can("shows:write"),
        "transitions": [(action, [str(src) for src in ShowStatus if src in sources])
                        for action, (sources, _target) in TRANSITIONS.items()],
        "confirm": ("go_live", "end", "cancel"),
        **_helpers(request),
    })


async def viewer_page(request: web.Request) -> web.Response:
    service = request.app[SHOWS]
    try:
        show = await service.viewable_show(principal_of(request), show_id_of(request))
    except NotFound:
        raise web.HTTPNotFound() from None
    state = await service.snapshot(show.id, principal_of(request))
    return render(request, "live.html", {
        "show": show, "pinned": state["pinned"],
        "closed": show.status in (ShowStatus.ENDED, ShowStatus.CANCELLED),
        **_helpers(request),
    })


def _zones(request: web.Request) -> list[str]:
    default = request.app[SETTINGS].time_zone
    return [default, *(zone for zone in ZONES if zone != default)]


def _parse_local(raw: str, zone: str) -> datetime | None:
    """`datetime-local` input (no offset) read in the show's zone."""
    if not raw:
        return None
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid("invalid_scheduled_at", "use YYYY-MM-DDTHH:MM") from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZoneInfo(zone))


def setup(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/console", console_index)
    app.router.add_post("/console/shows", create_from_form)
    app.router.add_get("/console/shows/{show_id}", control_room)
    app.router.add_get("/live/{show_id}", viewer_page)
