"""The billing items' keys and codecs (split from schema.py, which keeps every other item type).

Layout (PK / SK):
  SUB#<id> / INVOICE#<term start>    the cause "the document of this term" (the idempotency guard: put_new, so one
                                     per term whatever the retries): `documents` = the ids it produced. Written
                                     before the document layout, the same key held the invoice record itself
                                     (`invoice`); those items are still read as they are (no migration: see DEPLOY.md).
  SUB#<id> / INVOICEID#<document id> the document (immutable, kept 10 years), stored once: detail, PDF, list
  SERIES#<key> / SERIES              the last number issued in a series (`last_number`): `FR-2026` for invoices,
                                     `FR-2026-C` for credit notes (domain/billing/numbering.py)

A cause that is not a term (DESIGN 15's correction of document X) keys under the same prefix, after the period start
of the document it concerns (`INVOICE#<start>#...`), so the list, which reads the causes newest period first, shows a
correction next to what it corrects.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from chalicelib.adapters.dynamodb.schema import Item, Key, plain, subscription_partition

if TYPE_CHECKING:  # invoices are pydantic models: the subscription reads never import them
    from chalicelib.domain.billing.document import Invoice

CAUSE_PREFIX = "INVOICE#"
DOCUMENT_PREFIX = "INVOICEID#"  # never matched by begins_with(INVOICE#): the list reads the causes only


def term_cause_key(subscription_id: str, period_start: date) -> Key:
    return {"PK": subscription_partition(subscription_id), "SK": CAUSE_PREFIX + period_start.isoformat()}


def correction_cause_key(subscription_id: str, period_start: date, corrected_number: str) -> Key:
    """The guard of one document's correction, after its term's own cause: the list (newest first) shows the
    correction's documents before what they correct, and successive corrections of a term in the order of the numbers
    they corrected (numbers follow the order of issue)."""
    return {
        "PK": subscription_partition(subscription_id),
        "SK": f"{CAUSE_PREFIX}{period_start.isoformat()}#correction#{corrected_number}",
    }


def document_key(subscription_id: str, document_id: str) -> Key:
    return {"PK": subscription_partition(subscription_id), "SK": DOCUMENT_PREFIX + document_id}


def series_counter_key(series: str) -> Key:
    return {"PK": f"SERIES#{series}", "SK": "SERIES"}


def cause_item(key: Key, *documents: Invoice) -> Item:
    """`documents` in issue order (a correction: its credit note, then its replacement)."""
    return {
        **key,
        "type": "invoice_cause",
        "documents": [document.id for document in documents],
        "numbers": [document.number for document in documents],
    }


def corrected_by_value(credit_note: Invoice, replacement: Invoice) -> Item:
    """The `corrected_by` attribute set on the corrected document's item, beside its immutable record."""
    return {
        "credit_note": {"id": credit_note.id, "number": credit_note.number},
        "replacement": {"id": replacement.id, "number": replacement.number},
    }


def document_item(invoice: Invoice) -> Item:
    from chalicelib.domain.billing.json import invoice_to_record

    return {
        **document_key(invoice.subscription_id, invoice.id),
        "type": "invoice",
        "invoice_id": invoice.id,
        "number": invoice.number,
        "invoice": invoice_to_record(invoice),
    }


def inline_document(item: Item) -> bool:
    """A document item, or a term item of the layout before causes (which held its invoice)."""
    return "invoice" in item


def cause_documents(item: Item) -> tuple[str, ...]:
    """The ids of the documents a cause produced, in issue order (a legacy term item: its own invoice)."""
    if inline_document(item):
        return (str(item["invoice_id"]),)
    return tuple(str(document_id) for document_id in item.get("documents") or ())


def invoice_from(item: Item) -> Invoice:
    # The record holds strings (amounts and rates too), whole numbers, booleans, lists and maps.
    from chalicelib.domain.billing.document import CorrectedBy
    from chalicelib.domain.billing.json import invoice_from_record

    document = invoice_from_record(plain(item["invoice"]))
    corrected_by = item.get("corrected_by")
    if corrected_by is None:
        return document
    return document.model_copy(update={"corrected_by": CorrectedBy.model_validate(plain(corrected_by))})


def series_last_number(item: Item | None) -> int:
    return int(item["last_number"]) if item else 0
