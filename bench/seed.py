"""Bulk seeding with the adapter's own item builders, so seeded items are exactly what the app writes (SUB + ACCESS)."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.adapters.agreements import FileAgreementCatalog
from chalicelib.adapters.dynamodb.schema import access_item, dump, subscription_item
from chalicelib.domain.models import (
    ActivationChannel,
    ActivationEvidence,
    Customer,
    PaymentMethod,
    Person,
    Product,
    Subscription,
    SubscriptionStatus,
    activation_deadline,
    add_months,
    utc_iso,
)
from devstack.sample import SAMPLE_ORDER as ORDER

LOCALES = {"FR": "fr-FR", "DE": "de-DE", "GB": "en-GB"}
_catalog = FileAgreementCatalog()


def order_message(order_id: str, admin_email: str, ordered_at: datetime, country: str = "FR") -> dict[str, Any]:
    """An "order placed" message as the intake receives it."""
    message = copy.deepcopy(ORDER)
    message.update(order_id=order_id, ordered_at=utc_iso(ordered_at), country=country, locale=LOCALES[country])
    message["admin"] = {"email": admin_email, "name": admin_email.split("@")[0].title()}
    return message


def subscription(n: int, admin_email: str, country: str, ordered_at: datetime, *, active: bool = False) -> Subscription:
    locale = LOCALES[country]
    agreement = _catalog.current(country, locale.split("-")[0])
    fields: dict[str, Any] = {}
    if active:
        activated_at = ordered_at + timedelta(days=1)
        fields = {
            "activated_at": activated_at,
            "next_renewal_date": add_months(activated_at.date(), 12),
            "evidence": ActivationEvidence(
                accepted_by=admin_email,
                accepted_at=activated_at,
                agreement_version=agreement.version,
                ip="198.51.100.7",
                user_agent="bench",
                channel=ActivationChannel.PORTAL,
            ),
            "version": 2,
        }
    return Subscription(
        id=str(uuid.uuid4()),
        order_id=f"B-{n:07d}",
        status=SubscriptionStatus.ACTIVE if active else SubscriptionStatus.PENDING_ACTIVATION,
        product=Product(code="PROFIS-ENG", name="PROFIS Engineering Suite"),
        country=country,
        locale=locale,
        customer=Customer(id=f"{n:010d}", name=f"Customer {n}"),
        admin=Person(email=admin_email, name=f"Admin {n}"),
        license_quantity=5,
        term_months=12,
        unit_price=Decimal("450.00"),
        currency="EUR",
        payment_method=PaymentMethod(type="invoice"),
        ordered_at=ordered_at,
        activation_deadline=activation_deadline(ordered_at),
        agreement_version=agreement.version,
        activation_token_hash=None if active else uuid.uuid4().hex * 2,
        **fields,
    )


def items_of(sub: Subscription) -> list[dict[str, Any]]:
    """The subscription and its admin's access entry, in DynamoDB JSON, as create_pending / activate leave them."""
    return [
        dump(subscription_item(sub)),
        dump(access_item(sub, sub.admin.key, {"admin"})),
    ]
