"""Order intake: one "order placed" message becomes one pending subscription and its activation email."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from chalicelib.domain.activation_links import issue_token, new_token_id
from chalicelib.domain.billing.buyer_requirements import buyer_problems, currency_problem
from chalicelib.domain.billing.sellers import SellerCatalog
from chalicelib.domain.errors import DuplicateOrder, OrderRejected
from chalicelib.domain.models import Subscription, SubscriptionStatus, activation_deadline, utc_iso
from chalicelib.domain.orders import OrderPlaced, parse_order
from chalicelib.services import emails
from chalicelib.services.outbox import Delivery
from chalicelib.services.ports.common import AgreementCatalog, Clock, LinkSecret
from chalicelib.services.ports.orders import OrderStore

log = logging.getLogger(__name__)

MAX_CLOCK_SKEW = timedelta(hours=1)


@dataclass(frozen=True)
class IntakeResult:
    outcome: str  # "created" | "duplicate" | "expired"
    subscription_id: str | None

    @property
    def created(self) -> bool:
        return self.outcome == "created"


def fingerprint(raw: str | bytes | dict[str, Any]) -> str:
    body = raw if isinstance(raw, (str, bytes)) else json.dumps(raw, sort_keys=True)
    return hashlib.sha256(body.encode() if isinstance(body, str) else body).hexdigest()


class Intake:
    def __init__(
        self,
        orders: OrderStore,
        clock: Clock,
        agreements: AgreementCatalog,
        link_secret: LinkSecret,
        delivery: Delivery,
        sellers: SellerCatalog,
    ) -> None:
        self._orders = orders
        self._sellers = sellers
        self._clock = clock
        self._agreements = agreements
        self._link_secret = link_secret
        self._delivery = delivery

    def receive_order(self, raw: str | bytes | dict[str, Any]) -> IntakeResult:
        """Raises OrderRejected for a message that can never be accepted; safe to call again with the same message."""
        order = parse_order(raw)
        existing = self._orders.get_order(order.order_id)
        if existing is not None:
            log.info("order %s redelivered; subscription %s unchanged", order.order_id, existing.subscription_id)
            return IntakeResult("duplicate", existing.subscription_id)
        seller = self._sellers.get(order.country)
        if seller is None:
            # Never a subscription that could not be invoiced: the message goes to the dead-letter queue (and its
            # alarm) until a selling company is configured for the country.
            raise OrderRejected(
                [f"country {order.country}: no selling company is configured there, so it cannot be invoiced"]
            )
        # Nor one whose invoices would be refused: what the seller's documents need from the buyer, in its currency.
        problems = buyer_problems(seller, order.customer, order.country)
        currency = currency_problem(seller, order.currency)
        if problems or currency:
            raise OrderRejected([*problems, *([currency] if currency else [])])
        now = self._clock.now()
        if order.ordered_at > now + MAX_CLOCK_SKEW:
            raise OrderRejected(
                [f"ordered_at {utc_iso(order.ordered_at)} is in the future; it would extend the 90 days"]
            )
        deadline = activation_deadline(order.ordered_at)
        if now >= deadline:
            log.warning("order %s arrived after its activation deadline %s; nothing created", order.order_id, deadline)
            return IntakeResult("expired", None)
        subscription = _new_subscription(order, self._agreements)
        token_id = new_token_id()
        token = issue_token(self._link_secret(), token_id, subscription)
        subscription = replace(subscription, activation_token_hash=token.token_hash, activation_token_id=token_id)
        email = emails.outgoing(
            emails.ACTIVATION_REQUEST,
            subscription,
            subscription.admin.email,
            now,
            f"token/{token.token_hash}",
            token_id=token_id,
        )
        try:
            self._orders.create_pending(subscription, token, email, fingerprint(raw))
        except DuplicateOrder:
            # A concurrent delivery of the same message won the race.
            winner = self._orders.get_order(order.order_id)
            return IntakeResult("duplicate", winner.subscription_id if winner else None)
        self._delivery.deliver_now([email])
        log.info("order %s created subscription %s", order.order_id, subscription.id)
        return IntakeResult("created", subscription.id)


def _new_subscription(order: OrderPlaced, agreements: AgreementCatalog) -> Subscription:
    agreement = agreements.current(order.country, order.locale.split("-")[0].lower())
    return Subscription(
        id=str(uuid.uuid4()),
        order_id=order.order_id,
        status=SubscriptionStatus.PENDING_ACTIVATION,
        product=order.product,
        country=order.country,
        locale=order.locale,
        customer=order.customer,
        admin=order.admin,
        license_quantity=order.license_quantity,
        term_months=order.term_months,
        unit_price=order.unit_price,
        currency=order.currency,
        po_number=order.po_number,
        payment_method=order.payment_method,
        ordered_at=order.ordered_at,
        activation_deadline=activation_deadline(order.ordered_at),
        agreement_version=agreement.version,
    )
