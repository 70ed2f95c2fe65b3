"""Issuing invoices (DESIGN 14.2): one per cause (today: the term starting on a date), numbered in the series of
its document type, seller and calendar year with no gap and no duplicate, committed in the same transaction as the
change that causes it (activation, renewal).

API (the activation use case and the renewal job both use it):

    issuer = InvoiceIssuer(invoice_store, seller_catalog, clock, unit_of_work)

    issuer.issue(subscription, period_start=..., period_end=..., kind="initial"|"renewal", now=now,
                 with_change=lambda uow: <stage the change that causes the invoice on `uow`>)
        -> IssuedInvoice (.invoice, .email) as committed

  `subscription` is the subscription as it will be after the change (its PO number, payment method, quantity, price
  and admin are what the invoice shows; the email goes to its admin). `period_end` is INCLUSIVE (the day before the
  next renewal date; `domain.billing.terms.term(anchor, k, term_months)` gives both ends of term k).
  Each attempt opens one unit of work, lets the caller stage its change on it (`with_change`), reads the last number
  n of the series `domain.billing.numbering.series_for(type, country, year)` gives, stages the invoice numbered n+1
  (id = uuid5 of subscription id + term start, stable) with `UnitOfWork.issue` (the cause's guard: one document per
  cause; the document, stored once under its id; the series counter n -> n+1, conditional on n) and its
  `invoice_issued` email, and commits: the invoice and the change are committed together, or neither.
  - `WriteConflict` naming only the counter (or naming nothing: a concurrent transaction): the number was taken
    meanwhile; the next attempt re-reads the counter (bounded: MAX_ATTEMPTS). A cancelled transaction consumed no
    number, so the series has no gap.
  - `WriteConflict` naming anything else (the caller's own condition, or INVOICE_LABEL: this term already has its
    invoice) is re-raised for the caller to interpret: `INVOICE_LABEL in conflict.failed` means the invoice exists
    (idempotent: `issuer.invoice_for_term(...)` returns it).
  - `CounterContended` (a WriteConflict) after MAX_ATTEMPTS attempts; nothing was committed.
  - `domain.errors.SellerMissing` (a Conflict, 409) when no seller is configured for the subscription's country.
  After `issue` returned, deliver `issue.email` with `Delivery.deliver_now([...])` like any other email.

    issuer.prepare(subscription, ...) -> IssuedInvoice    one attempt's invoice, to stage on a unit of work
    issuer.invoice_for_term(subscription_id, period_start) -> Invoice | None
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from chalicelib.domain.billing.document import Cause, Invoice, InvoiceKind, Period, TermCause
from chalicelib.domain.billing.money import money_str
from chalicelib.domain.billing.numbering import series_for
from chalicelib.domain.billing.pricing import build_invoice, price_subscription_term
from chalicelib.domain.billing.sellers import SellerCatalog
from chalicelib.domain.errors import SellerMissing, WriteConflict
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import Subscription
from chalicelib.services import emails
from chalicelib.services.ports.common import Clock
from chalicelib.services.ports.invoices import COUNTER_LABEL, InvoiceStore
from chalicelib.services.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 25  # 20 activations racing for one series each lose at most 19 times


class CounterContended(WriteConflict):
    """The series counter kept moving under every attempt; nothing was committed."""


@dataclass(frozen=True)
class IssuedInvoice:
    invoice: Invoice
    email: OutgoingEmail
    cause: Cause
    series: str
    expected_last: int  # the series' last number the invoice's number follows

    def stage(self, uow: UnitOfWork) -> None:
        uow.issue(self.invoice, self.cause, self.series, self.expected_last)
        uow.queue([self.email])


def _no_change(uow: UnitOfWork) -> None:
    """An invoice issued on its own (no state change causes it in the same transaction)."""


def invoice_id(subscription_id: str, period_start: date) -> str:
    """Stable: the same term of the same subscription always has the same id, whatever the retries."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"invoice/{subscription_id}/{period_start.isoformat()}"))


class InvoiceIssuer:
    def __init__(
        self, invoices: InvoiceStore, sellers: SellerCatalog, clock: Clock, unit_of_work: UnitOfWorkFactory
    ) -> None:
        self._invoices = invoices
        self._sellers = sellers
        self._clock = clock
        self._unit_of_work = unit_of_work

    def prepare(
        self,
        subscription: Subscription,
        *,
        period_start: date,
        period_end: date,
        kind: InvoiceKind,
        now: datetime,
    ) -> IssuedInvoice:
        seller = self._sellers.get(subscription.country)
        if seller is None:
            raise SellerMissing(
                f"No selling company is configured for country {subscription.country}; the subscription cannot be "
                "invoiced. Please contact the vendor."
            )
        series = series_for("invoice", seller.country, now.date().year)
        last = self._invoices.last_number(series.key)
        invoice = build_invoice(
            price_subscription_term(seller, subscription, Period(start=period_start, end=period_end)),
            invoice_id=invoice_id(subscription.id, period_start),
            number=series.number(last + 1),
            subscription_id=subscription.id,
            order_id=subscription.order_id,
            kind=kind,
            issued_at=now,
            po_number=subscription.po_number,
            payment_method=subscription.payment_method,
        )
        email = emails.outgoing(
            emails.INVOICE_ISSUED,
            subscription,
            subscription.admin.email,
            now,
            f"invoice/{invoice.id}",
            invoice_id=invoice.id,
            invoice_number=invoice.number,
            period_start_date=invoice.period.start.isoformat(),
            period_end_date=invoice.period.end.isoformat(),
            total_amount=money_str(invoice.total_amount),
            currency=invoice.currency,
        )
        return IssuedInvoice(invoice, email, TermCause(period_start), series.key, last)

    def issue(
        self,
        subscription: Subscription,
        *,
        period_start: date,
        period_end: date,
        kind: InvoiceKind,
        now: datetime,
        with_change: Callable[[UnitOfWork], None] = _no_change,
    ) -> IssuedInvoice:
        for _ in range(MAX_ATTEMPTS):
            uow = self._unit_of_work()
            with_change(uow)
            issue = self.prepare(subscription, period_start=period_start, period_end=period_end, kind=kind, now=now)
            issue.stage(uow)
            try:
                uow.commit()
            except WriteConflict as conflict:
                if conflict.failed <= {COUNTER_LABEL}:
                    continue  # the number was taken meanwhile: read the next one
                raise
            log.info("invoice %s issued for subscription %s", issue.invoice.number, subscription.id)
            return issue
        raise CounterContended(frozenset({COUNTER_LABEL}))

    def invoice_for_term(self, subscription_id: str, period_start: date) -> Invoice | None:
        return self._invoices.invoice_for_term(subscription_id, period_start)
