"""Issued invoices (immutable, kept 10 years: no job deletes them) and the per-seller, per-year number series."""

from __future__ import annotations

from datetime import date

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.adapters.dynamodb.unit_of_work import ABSENT, Condition, Operation, put_new, queue_email, update
from chalicelib.domain.billing.document import Invoice
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.services.ports.invoices import COUNTER_LABEL, INVOICE_LABEL


class DynamoInvoiceStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def last_number(self, series: str) -> int:
        return schema.series_last_number(self._table.get(schema.series_counter_key(series)))

    def issue_operations(
        self, invoice: Invoice, series: str, expected_last: int, email: OutgoingEmail
    ) -> tuple[Operation, ...]:
        by_term, by_id = schema.invoice_items(invoice)
        # The counter moves only from the value the number was computed from: a cancelled transaction consumed nothing,
        # and a number taken in between fails this condition instead of being issued twice.
        expected = (
            ABSENT
            if expected_last == 0
            else Condition("last_number = :expected", values={":expected": expected_last})
        )
        return (
            put_new(INVOICE_LABEL, by_term),
            put_new(INVOICE_LABEL, by_id),
            update(
                COUNTER_LABEL,
                schema.series_counter_key(series),
                "SET last_number = :next, series = :series",
                expected,
                values={":next": expected_last + 1, ":series": series},
            ),
            queue_email(email),
        )

    def get_invoice(self, subscription_id: str, invoice_id: str) -> Invoice | None:
        item = self._table.get(schema.invoice_id_key(subscription_id, invoice_id))
        return schema.invoice_from(item) if item else None

    def invoice_for_term(self, subscription_id: str, period_start: date) -> Invoice | None:
        item = self._table.get(schema.invoice_key(subscription_id, period_start))
        return schema.invoice_from(item) if item else None

    def list_invoices(
        self, subscription_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Invoice], str | None]:
        items, next_cursor = self._table.page(
            schema.subscription_partition(subscription_id), schema.INVOICE_PREFIX, limit, cursor, forward=False
        )
        return [schema.invoice_from(i) for i in items], next_cursor
