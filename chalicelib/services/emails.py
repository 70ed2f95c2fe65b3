"""Builds outbox entries for each kind of email; rendering happens when the entry is delivered."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import Subscription, utc_iso

# The request that queued an email delivers it itself; the outbox job only takes entries older than this, so the two
# never send the same entry (an API Lambda times out long before).
DELIVERY_GRACE = timedelta(minutes=2)

ACTIVATION_REQUEST = "activation_request"
ACTIVATION_CONFIRMED = "activation_confirmed"
SEAT_ASSIGNED = "seat_assigned"
SEAT_REMOVED = "seat_removed"
ADMIN_TRANSFERRED_NEW = "admin_transferred_new"
ADMIN_TRANSFERRED_OLD = "admin_transferred_old"
CANCELLATION_SCHEDULED = "cancellation_scheduled"
CANCELLATION_WITHDRAWN = "cancellation_withdrawn"
ACTIVATION_REMINDER = "activation_reminder"
RENEWAL_REMINDER = "renewal_reminder"
RENEWAL_REMINDER_ENDING = "renewal_reminder_ending"
SUBSCRIPTION_ENDED = "subscription_ended"
INVOICE_ISSUED = "invoice_issued"
INVOICE_CORRECTED = "invoice_corrected"


def subscription_params(subscription: Subscription) -> dict[str, Any]:
    return {
        "subscription_id": subscription.id,
        "order_id": subscription.order_id,
        "product_name": subscription.product.name,
        "customer_name": subscription.customer.name,
        "admin_name": subscription.admin.name,
        "admin_email": subscription.admin.email,
        "recipient_name": subscription.admin.name,
        "license_quantity": subscription.license_quantity,
        "activation_deadline": utc_iso(subscription.activation_deadline),
        "next_renewal_date": subscription.next_renewal_date.isoformat() if subscription.next_renewal_date else None,
    }


def outgoing(
    kind: str, subscription: Subscription, to: str, now: datetime, mail_key: str, **extra: Any
) -> OutgoingEmail:
    """`mail_key` names the state change, so a retried change can never queue a second copy."""
    return OutgoingEmail(
        mail_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{subscription.id}/{kind}/{mail_key}")),
        kind=kind,
        to=to,
        locale=subscription.locale,
        country=subscription.country,
        params={**subscription_params(subscription), **extra},
        due_at=now + DELIVERY_GRACE,
    )
