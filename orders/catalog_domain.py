"""Catalog rules and value objects: products, their card as viewers see it, catalog errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from server.errors import Conflict, Invalid, NotFound

SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_PRICE = 1_000_000_000  # one billion won: far above any live-commerce item
MAX_STOCK = 10_000_000
IMAGE_URL_MAX = 2000


def product_not_found(product_id: object) -> NotFound:
    return NotFound("product_not_found", f"no product {product_id}")


def sku_taken(sku: str) -> Conflict:
    return Conflict("sku_taken", f"SKU {sku} is used by another product")


def check_image_url(url: str) -> str:
    """Pages show it under CSP img-src 'self' https:, so only https or same-site paths."""
    url = url.strip()
    if not url:
        return ""
    if len(url) > IMAGE_URL_MAX or any(ch.isspace() for ch in url):
        raise Invalid("invalid_image_url", "an https:// URL or a /path on this site")
    if url.startswith("https://") and len(url) > len("https://"):
        return url
    if url.startswith("/") and not url.startswith(("//", "/\\")):
        return url
    raise Invalid("invalid_image_url", "an https:// URL or a /path on this site")


@dataclass(frozen=True, slots=True)
class ProductCard:
    """What a viewer sees of a product: the pinned card and the lineup entries."""

    id: int
    sku: str
    name: str
    price: int
    image_url: str
    stock: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "sku": self.sku, "name": self.name, "price": self.price,
            "image_url": self.image_url, "stock": self.stock,
        }
