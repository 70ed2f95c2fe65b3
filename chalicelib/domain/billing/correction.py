"""Correcting an issued invoice (DESIGN 15.1, 15.2): a credit note that cancels it in full and a replacement invoice
with the corrected data. The original never changes; both new documents are built here, pure, from it.

- The credit note (381, kind `correction`) copies the original as issued (parties, PO number, period, lines, amounts,
  all positive) and cites it (BG-3: BT-25 its number, BT-26 its issue date).
- The replacement (380, `replaces` the original) has the original's period and lines with the corrected buyer and
  PO number, sold by the seller as configured now; its VAT treatment is decided again from the corrected buyer by
  the one VAT function (`tax.vat_treatment`), so a VAT id added to an EU buyer abroad makes it reverse-charged.
- What the request leaves out keeps the original's value (the correction says what was wrong, nothing else).
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

from chalicelib.domain.billing.document import (
    Buyer,
    DocumentLink,
    DocumentReference,
    Invoice,
    InvoiceLine,
)
from chalicelib.domain.billing.money import TWO_PLACES
from chalicelib.domain.billing.pricing import tax_currency_of
from chalicelib.domain.billing.sellers import Seller
from chalicelib.domain.billing.tax import vat_breakdown, vat_treatment
from chalicelib.domain.identifiers import ElectronicAddress, derived_electronic_address, french_siren_of_vat_id
from chalicelib.domain.models import Customer, PostalAddress


class Keep(Enum):
    """A field the correction does not touch (distinct from null, which removes a PO number or a VAT id)."""

    KEEP = "keep"


KEEP: Literal[Keep.KEEP] = Keep.KEEP


@dataclass(frozen=True)
class Correction:
    """What the admin corrects (DESIGN 15.2's body), validated at the edge with intake's validators."""

    reason: str
    po_number: str | Keep | None = KEEP
    buyer_name: str | Keep = KEEP
    buyer_address: PostalAddress | Keep = KEEP
    buyer_vat_id: str | Keep | None = KEEP
    buyer_siren: str | Keep | None = KEEP
    buyer_electronic_address: ElectronicAddress | Keep | None = KEEP

    def customer_changes(self) -> dict[str, Any]:
        """The customer's fields this correction sets, by the customer model's names."""
        given = {
            "name": self.buyer_name,
            "address": self.buyer_address,
            "vat_id": self.buyer_vat_id,
            "siren": self.buyer_siren,
            "electronic_address": self.buyer_electronic_address,
        }
        return {name: value for name, value in given.items() if value is not KEEP}


def _settable(model_fields: set[str], changes: dict[str, Any]) -> dict[str, Any]:
    # The buyer's SIREN and electronic address (DESIGN 15.3) are set where the model has the field: a model without
    # it (yet) keeps what it has, and the correction still validated and recorded them.
    return {name: value for name, value in changes.items() if name in model_fields}


CUSTOMER_FIELDS = {f.name for f in dataclasses.fields(Customer)}


def corrected_customer(customer: Customer, correction: Correction) -> Customer:
    """The subscription's customer with the corrected values, kept for later invoices."""
    return dataclasses.replace(customer, **_settable(CUSTOMER_FIELDS, correction.customer_changes()))


def corrected_po_number(po_number: str | None, correction: Correction) -> str | None:
    return po_number if correction.po_number is KEEP else correction.po_number


def corrected_buyer(buyer: Buyer, correction: Correction) -> Buyer:
    changes = _settable(set(Buyer.model_fields), correction.customer_changes())
    corrected = Buyer.model_validate({**buyer.model_dump(), **changes})
    # DESIGN 15.3's derivations, from the corrected identifiers, where the correction gave none itself
    country = corrected.address.country if corrected.address else corrected.country
    siren = corrected.siren
    if siren is None and country == "FR" and "siren" not in changes:
        siren = french_siren_of_vat_id(corrected.vat_id)
    address = corrected.electronic_address
    if "electronic_address" not in changes and {"vat_id", "siren", "address"} & set(changes):
        address = derived_electronic_address(country, corrected.vat_id, siren) or address
    return corrected.model_copy(update={"siren": siren, "electronic_address": address})


def document_id(kind: Literal["credit_note", "replacement"], corrected_id: str) -> str:
    """Stable: the correction of one document always issues the same two ids, whatever the retries."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}/{corrected_id}"))


def _moment(issued_at: datetime) -> datetime:
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must carry a time zone")
    return issued_at.astimezone(UTC).replace(microsecond=0)


def credit_note_for(original: Invoice, *, number: str, issued_at: datetime) -> Invoice:
    """The credit note cancelling `original` in full: its parties, PO number, period, lines and amounts as issued."""
    if original.type != "invoice":
        raise ValueError(f"document {original.number} is a credit note: only an invoice is cancelled by one")
    moment = _moment(issued_at)
    return Invoice.model_validate(  # validated again: a credit note whose figures do not add up never exists
        {
            **original.model_dump(),
            "id": document_id("credit_note", original.id),
            "number": number,
            "type": "credit_note",
            "kind": "correction",
            "issue_date": moment.date(),
            "issued_at": moment,
            "due_date": moment.date() + timedelta(days=original.seller.payment_terms_days),
            "cancels": DocumentReference(id=original.id, number=original.number, issue_date=original.issue_date),
            "replaces": None,
        }
    )


def replacement_for(
    original: Invoice, correction: Correction, *, seller: Seller, number: str, issued_at: datetime
) -> Invoice:
    """The invoice replacing `original`: its period and lines, the corrected buyer and PO number, the VAT of the
    corrected buyer, by `seller` as configured now. The totals are checked again when the document is built."""
    moment = _moment(issued_at)
    buyer = corrected_buyer(original.buyer, correction)
    treatment = vat_treatment(
        seller.country, seller.vat_rate, buyer.address.country if buyer.address else None, buyer.vat_id,
        original.language,
    )  # fmt: skip
    lines = tuple(
        InvoiceLine(
            product_code=line.product_code,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            period=line.period,
            tax_category=treatment.category,
            tax_rate=treatment.rate,
            exemption=treatment.exemption,
        )
        for line in original.lines
    )
    breakdown = vat_breakdown((line.taxed() for line in lines), original.currency)
    net = sum((line.amount for line in lines), Decimal("0.00")).quantize(TWO_PLACES)
    tax = sum((entry.tax_amount for entry in breakdown), Decimal("0.00")).quantize(TWO_PLACES)
    return Invoice(
        id=document_id("replacement", original.id),
        number=number,
        type="invoice",
        subscription_id=original.subscription_id,
        order_id=original.order_id,
        kind=original.kind,  # it invoices the same term for the same reason: the first term or its renewal
        issue_date=moment.date(),
        issued_at=moment,
        due_date=moment.date() + timedelta(days=seller.payment_terms_days),
        period=original.period,
        seller=seller,
        buyer=buyer,
        po_number=corrected_po_number(original.po_number, correction) or None,
        lines=lines,
        currency=original.currency,
        tax_breakdown=breakdown,
        net_amount=net,
        tax_amount=tax,
        total_amount=net + tax,
        payment_method=original.payment_method,
        language=original.language,
        replaces=DocumentLink(id=original.id, number=original.number),
        tax_currency=tax_currency_of(seller, original.currency, tax, moment.date()),  # at the replacement's date
    )


def corrected_terms(original: Invoice, replacement: Invoice) -> dict[str, Any]:
    """What the replacement states differently from the original, as {term: {"old", "new"}} in JSON form (empty:
    the correction would change nothing, and is refused)."""
    found: dict[str, Any] = {}
    if original.po_number != replacement.po_number:
        found["po_number"] = {"old": original.po_number, "new": replacement.po_number}
    before = original.buyer.model_dump(mode="json")
    after = replacement.buyer.model_dump(mode="json")
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            found[f"buyer.{name}"] = {"old": before.get(name), "new": after.get(name)}
    return found
