"""Issued documents (immutable, kept 10 years: no job deletes them), the causes that guard their issue, and the
per-seller, per-year number series. Layout in invoice_schema.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from chalicelib.adapters.dynamodb import invoice_schema as keys
from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.adapters.dynamodb.unit_of_work import ABSENT, Condition, Operation, put_new, update
from chalicelib.domain.billing.document import Cause, CorrectionCause, Invoice
from chalicelib.services.ports.invoices import CORRECTION_LABEL, COUNTER_LABEL, INVOICE_LABEL


def _cause_key(subscription_id: str, cause: Cause) -> schema.Key:
    if isinstance(cause, CorrectionCause):
        return keys.correction_cause_key(subscription_id, cause.period_start, cause.number)
    return keys.term_cause_key(subscription_id, cause.start)


def _next_number(series: str, expected_last: int) -> Operation:
    # The counter moves only from the value the number was computed from: a cancelled transaction consumed nothing,
    # and a number taken in between fails this condition instead of being issued twice.
    expected = (
        ABSENT if expected_last == 0 else Condition("last_number = :expected", values={":expected": expected_last})
    )
    return update(
        COUNTER_LABEL,
        keys.series_counter_key(series),
        "SET last_number = :next, series = :series",
        expected,
        values={":next": expected_last + 1, ":series": series},
    )


def issue_operations(invoice: Invoice, cause: Cause, series: str, expected_last: int) -> tuple[Operation, ...]:
    """What issuing `invoice` for `cause` adds to the transaction of the change that causes it (UnitOfWork.issue)."""
    return (
        # the cause's key is the term item of the earlier layout too: a term invoiced either way refuses a second
        put_new(INVOICE_LABEL, keys.cause_item(_cause_key(invoice.subscription_id, cause), invoice)),
        put_new(INVOICE_LABEL, keys.document_item(invoice)),
        _next_number(series, expected_last),
    )


def correction_operations(
    corrected: Invoice, credit_note: Invoice, replacement: Invoice, numbers: Sequence[tuple[str, int]]
) -> tuple[Operation, ...]:
    """What correcting `corrected` adds to the transaction that records it (UnitOfWork.correct, DESIGN 15.2)."""
    cause = CorrectionCause.of(corrected)
    return (
        put_new(
            CORRECTION_LABEL,
            keys.cause_item(_cause_key(corrected.subscription_id, cause), credit_note, replacement),
        ),
        # the mark beside the immutable record; a document corrected meanwhile (or never stored) refuses a second
        update(
            CORRECTION_LABEL,
            keys.document_key(corrected.subscription_id, corrected.id),
            "SET corrected_by = :by",
            Condition("attribute_exists(PK) AND attribute_not_exists(corrected_by)"),
            values={":by": keys.corrected_by_value(credit_note, replacement)},
        ),
        put_new(CORRECTION_LABEL, keys.document_item(credit_note)),
        put_new(CORRECTION_LABEL, keys.document_item(replacement)),
        *(_next_number(series, expected_last) for series, expected_last in numbers),
    )


class DynamoInvoiceStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def last_number(self, series: str) -> int:
        return keys.series_last_number(self._table.get(keys.series_counter_key(series)))

    def get_invoice(self, subscription_id: str, invoice_id: str) -> Invoice | None:
        item = self._table.get(keys.document_key(subscription_id, invoice_id))
        return keys.invoice_from(item) if item else None

    def invoice_for_term(self, subscription_id: str, period_start: date) -> Invoice | None:
        item = self._table.get(keys.term_cause_key(subscription_id, period_start))
        if item is None:
            return None
        if keys.inline_document(item):
            return keys.invoice_from(item)  # issued before the cause/document layout
        (document_id,) = keys.cause_documents(item)  # a term is invoiced by one document
        return self.get_invoice(subscription_id, document_id)

    def list_invoices(
        self, subscription_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Invoice], str | None]:
        causes, next_cursor = self._table.page(
            schema.subscription_partition(subscription_id), keys.CAUSE_PREFIX, limit, cursor, forward=False
        )
        wanted = [
            keys.document_key(subscription_id, document_id)
            for item in causes
            if not keys.inline_document(item)
            for document_id in keys.cause_documents(item)
        ]
        found = {item["SK"]: item for item in self._table.batch_get(wanted)} if wanted else {}
        documents: list[Invoice] = []
        for item in causes:
            if keys.inline_document(item):
                documents.append(keys.invoice_from(item))
                continue
            for document_id in reversed(keys.cause_documents(item)):  # newest first within a cause too
                documents.append(keys.invoice_from(found[keys.document_key(subscription_id, document_id)["SK"]]))
        return documents, next_cursor
