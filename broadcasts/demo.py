"""Demo content for `onair serve --demo`: Korean products and one show with a lineup."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from sqlalchemy import select

from broadcasts.service import NewShow
from broadcasts.tables import ShowRow
from orders.tables import Product
from server.auth.service import SYSTEM
from server.db import utcnow
from server.demo import DemoInfo
from server.keys import CATALOG, SESSIONS, SETTINGS, SHOWS

DEMO_SHOW_TITLE = "겨울 니트 특가 라이브"
DEMO_PRODUCTS = (
    ("DEMO-KNIT-01", "캐시미어 블렌드 라운드 니트", 59_000, 40),
    ("DEMO-KNIT-02", "울 케이블 가디건", 79_000, 25),
    ("DEMO-SCARF-01", "램스울 머플러", 29_900, 60),
    ("DEMO-MUG-01", "핸드메이드 도자기 머그", 18_000, 12),
)


async def seed_shows(app: web.Application, info: DemoInfo) -> bool:
    """Seed the demo products and show once; always add the show's URLs to `info`."""
    catalog, shows = app[CATALOG], app[SHOWS]
    created = False
    async with app[SESSIONS]() as db:
        existing = {row.sku: row.id for row in await db.scalars(
            select(Product).where(Product.sku.in_([p[0] for p in DEMO_PRODUCTS])))}
        show_id = await db.scalar(
            select(ShowRow.id).where(ShowRow.title == DEMO_SHOW_TITLE).limit(1))
    product_ids = []
    for sku, name, price, stock in DEMO_PRODUCTS:
        if sku not in existing:
            row = await catalog.create_product(
                SYSTEM, sku=sku, name=name, price=price, stock=stock)
            existing[sku] = row.id
            created = True
        product_ids.append(existing[sku])
    if show_id is None:
        show = await shows.create_show(SYSTEM, NewShow(
            title=DEMO_SHOW_TITLE,
            description="따뜻한 겨울 니트와 머플러를 라이브 특가로 만나보세요.",
            time_zone=app[SETTINGS].time_zone,
            scheduled_at=utcnow() + timedelta(hours=1),
            hosts=["host"],
        ))
        for product_id in product_ids:
            await shows.add_product(SYSTEM, show.id, product_id)
        await shows.transition(SYSTEM, show.id, "schedule")
        show_id = show.id
        created = True
    base = app[SETTINGS].public_base_url
    info.urls.append(("control", f"{base}/console/shows/{show_id}"))
    info.urls.append(("viewer", f"{base}/live/{show_id}"))
    return created
