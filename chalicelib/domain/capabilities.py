"""What a caller may do on a subscription now (DESIGN 5.2, `capabilities`): one function decides from the caller's
role, the subscription's status and its product. The subscription JSON shows its answers and the routes enforce the
same answers, so the frontend never offers an action that would fail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from chalicelib.domain.errors import AlreadyActive, Conflict, DomainError, Forbidden
from chalicelib.domain.models import Role, Subscription, SubscriptionStatus

Capability = Literal[
    "activate", "manage_users", "transfer_admin", "edit_po_number", "change_payment_method", "cancel", "view_invoices"
]
CAPABILITIES: tuple[Capability, ...] = get_args(Capability)

ADMIN_ONLY = "Only the subscription's administrator may do this."
NOT_ACTIVE = "Only an active subscription can be managed. Activate it first by accepting the agreement."
ALREADY_ACTIVE = "This subscription is already active; there is nothing to activate."
ENDED = "This subscription has ended; it cannot be activated again. A new order is needed."
ENDED_READ_ONLY = "This subscription has ended; it can no longer be changed. Its invoices and agreement stay available."
NO_INVOICES_YET = "A subscription has invoices once it is activated."


@dataclass(frozen=True, kw_only=True)
class CatalogueProduct:
    """One product of the catalogue: `users` says who manages its named users, the customer's admin in the portal
    ("portal") or the vendor ("vendor"). Checked where the configuration is read (`config.py`)."""

    name: str
    users: Literal["portal", "vendor"] = "portal"


class ProductCatalogue:
    """The products the vendor sells, by code. A product missing from it is self-service."""

    def __init__(self, products: Mapping[str, CatalogueProduct]) -> None:
        self._products = dict(products)

    def users_managed_in_portal(self, product_code: str) -> bool:
        product = self._products.get(product_code)
        return product is None or product.users == "portal"

    def vendor_manages_users(self, product_code: str) -> str:
        """The 409 message for a seat change on a vendor-managed product."""
        product = self._products.get(product_code)
        name = product.name if product else product_code
        return (
            f"The vendor manages who may use {name}: its users cannot be added or removed in the portal. "
            "Contact the vendor to change access."
        )


def refusal(
    capability: Capability, role: Role, subscription: Subscription, catalogue: ProductCatalogue
) -> DomainError | None:
    """Why the caller may not do `capability` now (the error its route answers), or None when it may."""
    if role is not Role.ADMIN:
        return Forbidden(ADMIN_ONLY)
    status = subscription.status
    if capability == "activate":
        if status is SubscriptionStatus.PENDING_ACTIVATION:
            return None
        return AlreadyActive(ALREADY_ACTIVE) if status is SubscriptionStatus.ACTIVE else Conflict(ENDED)
    if capability == "view_invoices":
        return None if status is not SubscriptionStatus.PENDING_ACTIVATION else Conflict(NO_INVOICES_YET)
    if status is SubscriptionStatus.ENDED:
        return Conflict(ENDED_READ_ONLY)
    if status is not SubscriptionStatus.ACTIVE:
        return Conflict(NOT_ACTIVE)
    if capability == "manage_users" and not catalogue.users_managed_in_portal(subscription.product.code):
        return Conflict(catalogue.vendor_manages_users(subscription.product.code))
    return None


def capabilities(role: Role, subscription: Subscription, catalogue: ProductCatalogue) -> dict[str, bool]:
    return {name: refusal(name, role, subscription, catalogue) is None for name in CAPABILITIES}


def enforce(capability: Capability, role: Role, subscription: Subscription, catalogue: ProductCatalogue) -> None:
    error = refusal(capability, role, subscription, catalogue)
    if error is not None:
        raise error
