"""Correcting an issued invoice (DESIGN 15.2): in one transaction, a credit note cancelling it in full and a
replacement invoice with the corrected data, each numbered in its own gap-free series; the subscription keeps the
corrected values for later invoices, the history records it and the admin gets both PDFs by email.

One correction per document, whatever the retries and races: the correction's guard (keyed by the corrected document)
and the `corrected_by` mark beside it are conditional writes of the same transaction, so of 20 parallel corrections
one commits and the others find the document corrected (409). A number taken meanwhile (another invoice or credit
note of the seller) re-reads the counters and tries again; a subscription changed meanwhile (a renewal, a PO edit) is
read again and the correction applied to its new state, so neither change is lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.domain.billing.money import money_str
from chalicelib.domain.capabilities import ENDED_READ_ONLY, NOT_ACTIVE
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound, SellerMissing, WriteConflict
from chalicelib.domain.models import Customer, Subscription, SubscriptionStatus, to_record
from chalicelib.services import emails
from chalicelib.services.access import NOT_VISIBLE, Authorized
from chalicelib.services.billing import NO_SUCH_INVOICE, is_invoice_id
from chalicelib.services.outbox import Delivery
from chalicelib.services.ports.common import Clock
from chalicelib.services.ports.invoices import CORRECTION_LABEL, COUNTER_LABEL, InvoiceStore
from chalicelib.services.ports.subscriptions import SubscriptionReader
from chalicelib.services.ports.unit_of_work import UnitOfWorkFactory

if TYPE_CHECKING:  # pydantic models: imported where a correction runs, never on the subscription reads
    from chalicelib.domain.billing.correction import Correction
    from chalicelib.domain.billing.document import Invoice
    from chalicelib.domain.billing.sellers import Seller, SellerCatalog

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 25  # like the issuer's: 20 parallel issuers of one seller each lose a number at most 19 times
A_CREDIT_NOTE = "This document is a credit note: a credit note is never corrected. Correct its replacement instead."
ALREADY_CORRECTED = (
    "This invoice was already corrected: its credit note and replacement are listed with the invoices. Correct the "
    "replacement if it is wrong too."
)
NOTHING_CHANGES = (
    "This correction would change nothing on the invoice: give the PO number or buyer details that should differ."
)
BUSY = "The subscription is changing a lot right now; please try again."


@dataclass(frozen=True)
class CorrectedInvoice:
    credit_note: Invoice
    replacement: Invoice


class Corrections:
    def __init__(
        self,
        invoices: InvoiceStore,
        sellers: SellerCatalog,
        clock: Clock,
        delivery: Delivery,
        unit_of_work: UnitOfWorkFactory,
        subscriptions: SubscriptionReader,
    ) -> None:
        self._invoices = invoices
        self._sellers = sellers
        self._clock = clock
        self._delivery = delivery
        self._unit_of_work = unit_of_work
        self._subscriptions = subscriptions

    def correct(self, admin: Authorized, invoice_id: str, correction: Correction) -> CorrectedInvoice:
        """`admin`: the route authorized the caller as the admin of an active subscription."""
        from chalicelib.domain.billing.correction import (
            corrected_customer,
            corrected_po_number,
            corrected_terms,
            credit_note_for,
            replacement_for,
        )
        from chalicelib.domain.billing.numbering import series_for

        subscription = admin.subscription
        original = self._correctable(subscription.id, invoice_id)
        for _ in range(MAX_ATTEMPTS):
            now = self._clock.now()
            seller = self._sellers.get(subscription.country)
            if seller is None:
                raise SellerMissing(
                    f"No selling company is configured for country {subscription.country}; the invoice cannot be "
                    "corrected. Please contact the vendor."
                )
            _refuse_what_intake_would(seller, corrected_customer(subscription.customer, correction), subscription)
            credit_series = series_for("credit_note", original.seller.country, now.date().year)
            invoice_series = series_for("invoice", seller.country, now.date().year)
            credit_last = self._invoices.last_number(credit_series.key)
            invoice_last = self._invoices.last_number(invoice_series.key)
            credit_note = credit_note_for(original, number=credit_series.number(credit_last + 1), issued_at=now)
            replacement = replacement_for(
                original, correction, seller=seller, number=invoice_series.number(invoice_last + 1), issued_at=now
            )
            changes = corrected_terms(original, replacement)
            if not changes:
                raise InvalidInput(NOTHING_CHANGES)
            details: dict[str, Any] = {
                "invoice": {"id": original.id, "number": original.number},
                "credit_note": {"id": credit_note.id, "number": credit_note.number},
                "replacement": {"id": replacement.id, "number": replacement.number},
                "reason": correction.reason,
                "changes": changes,
                "customer": to_record(correction.customer_changes()),
            }
            after, event = subscription.correct_invoice(
                corrected_customer(subscription.customer, correction),
                corrected_po_number(subscription.po_number, correction),
                admin.caller.email,
                now,
                details,
            )
            email = emails.outgoing(
                emails.INVOICE_CORRECTED,
                after,
                after.admin.email,
                now,
                f"correction/{original.id}",
                invoice_id=original.id,
                invoice_number=original.number,
                credit_note_number=credit_note.number,
                replacement_number=replacement.number,
                reason=correction.reason,
                total_amount=money_str(replacement.total_amount),
                currency=replacement.currency,
                attached_invoice_ids=[credit_note.id, replacement.id],
            )
            uow = self._unit_of_work()
            uow.save(subscription, after, event)
            numbers = [(credit_series.key, credit_last), (invoice_series.key, invoice_last)]
            uow.correct(original, credit_note, replacement, numbers)
            uow.queue([email])
            try:
                uow.commit()
            except WriteConflict as conflict:
                if CORRECTION_LABEL in conflict.failed:
                    raise Conflict(ALREADY_CORRECTED) from None
                if conflict.failed and conflict.failed <= {COUNTER_LABEL}:
                    continue  # a number was taken meanwhile: read the counters again
                subscription = self._reread_active(subscription.id)  # a renewal, an edit: correct its new state
                continue
            log.info(
                "invoice %s corrected by %s and %s", original.number, credit_note.number, replacement.number
            )
            self._delivery.deliver_now([email])
            return CorrectedInvoice(credit_note, replacement)
        raise Conflict(BUSY)

    def _correctable(self, subscription_id: str, invoice_id: str) -> Invoice:
        found = self._invoices.get_invoice(subscription_id, invoice_id) if is_invoice_id(invoice_id) else None
        if found is None:
            raise NotFound(NO_SUCH_INVOICE)
        if found.type == "credit_note":
            raise Conflict(A_CREDIT_NOTE)
        if found.corrected_by is not None:
            raise Conflict(ALREADY_CORRECTED)
        return found

    def _reread_active(self, subscription_id: str) -> Subscription:
        current = self._subscriptions.get_subscription(subscription_id)
        if current is None:
            raise NotFound(NOT_VISIBLE)
        if current.status is SubscriptionStatus.ENDED:
            raise Conflict(ENDED_READ_ONLY)
        if current.status is not SubscriptionStatus.ACTIVE:
            raise Conflict(NOT_ACTIVE)
        return current


def _refuse_what_intake_would(seller: Seller, customer: Customer, subscription: Subscription) -> None:
    """The corrected buyer must be one intake would accept (DESIGN 15.3): a full postal address, the SIREN of a buyer
    in France, the electronic address the seller's documents need. A replacement is numbered and final, so what it
    could not lawfully state is refused here, before anything is written."""
    from chalicelib.domain.billing.buyer_requirements import buyer_problems
    from chalicelib.domain.validators import postal_address_problems

    reasons: list[str] = []
    if customer.address is None:
        reasons.append("buyer.address: the buyer's postal address is required")
    else:
        address = customer.address
        raw = {"lines": list(address.lines), "city": address.city, "country": address.country}
        if address.postal_code is not None:
            raw["postal_code"] = address.postal_code
        reasons += [f"buyer.address.{reason}" for reason in postal_address_problems(raw)[1]]
    problems = buyer_problems(seller, customer, subscription.country)
    reasons += [reason.replace("customer.", "buyer.", 1) for reason in problems]
    if reasons:
        raise InvalidInput("The corrected invoice could not be issued: " + "; ".join(reasons), field="/buyer")
