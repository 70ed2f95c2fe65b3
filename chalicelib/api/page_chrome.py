"""What every activation page shows around its content, so it looks like the vendor's: the vendor's name and logo
(served by the app, see api/assets.py), the selling company of the subscription's country with its contact, and the
privacy and legal notice links. All of it is configuration: VENDOR_NAME, VENDOR_LOGO_PATH, SELLERS_JSON, PRIVACY_URL,
LEGAL_NOTICE_URL."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.branding import load_logo
from chalicelib.container import get_container

if TYPE_CHECKING:
    from chalicelib.domain.billing.sellers import Seller

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SellerContact:
    name: str
    address_lines: tuple[str, ...]
    email: str | None
    phone: str | None


def page_chrome(country: str | None) -> dict[str, Any]:
    """The layout's variables. `country` None (an unknown link's page): no seller is named.

    Never raises: a page that reports an error must still render, so a broken branding setting costs the header
    and footer of that page (logged), not the page."""
    try:
        c = get_container()
        settings = c.settings
        seller = c.sellers.get(country) if country else None
        return {
            "vendor_name": settings.vendor_name,
            "logo_url": load_logo(settings.vendor_logo_path).relative_url,
            "seller": _contact(seller) if seller is not None else None,
            "privacy_url": settings.privacy_url,
            "legal_notice_url": settings.legal_notice_url,
        }
    except Exception:
        log.exception("page header and footer left out: branding configuration unusable")
        return {"vendor_name": None, "logo_url": None, "seller": None, "privacy_url": None, "legal_notice_url": None}


def _contact(seller: Seller) -> SellerContact:
    address = seller.address
    city = " ".join(part for part in (address.postal_code, address.city) if part)
    return SellerContact(
        name=seller.name,
        address_lines=(*address.lines, *((city,) if city else ())),
        email=seller.email,
        phone=seller.phone,
    )
