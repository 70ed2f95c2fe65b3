"""Reads of seats, roles, the customer's contacts and the history (changes: `staging.DynamoUnitOfWork`)."""

from __future__ import annotations

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.domain.access import AuditEvent, Contact, Seat
from chalicelib.domain.models import normalize_email


class DynamoAdministrationStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get_roles(self, subscription_id: str, emails: list[str]) -> dict[str, frozenset[str]]:
        if not emails:
            return {}
        keys = [schema.access_key(subscription_id, e) for e in dict.fromkeys(emails)]
        found = {schema.email_key_of_access(i): schema.roles_from(i) for i in self._table.batch_get(keys)}
        return {e: found.get(e, frozenset()) for e in emails}

    def get_seat(self, subscription_id: str, email_key: str) -> Seat | None:
        item = self._table.get(schema.seat_key(subscription_id, email_key))
        return schema.seat_from(item) if item else None

    def list_seats(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[Seat], str | None]:
        partition = schema.subscription_partition(subscription_id)
        items, next_cursor = self._table.page(partition, schema.SEAT_PREFIX, limit, cursor, forward=True)
        return [schema.seat_from(i) for i in items], next_cursor

    def history(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[AuditEvent], str | None]:
        partition = schema.subscription_partition(subscription_id)
        items, next_cursor = self._table.page(partition, schema.EVENT_PREFIX, limit, cursor, forward=False)
        return [schema.event_from(subscription_id, i) for i in items], next_cursor

    def contacts_page(
        self, country: str, customer_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Contact], str | None]:
        partition = schema.customer_partition(country, customer_id)
        items, next_cursor = self._table.page(partition, schema.CONTACT_PREFIX, limit, cursor, forward=True)
        return [schema.contact_from(i) for i in items], next_cursor

    def contacts_named(self, country: str, customer_id: str, emails: list[str]) -> set[str]:
        """Which of these people (normalized emails) are known contacts of the customer."""
        if not emails:
            return set()
        keys = [schema.contact_key(country, customer_id, normalize_email(e)) for e in dict.fromkeys(emails)]
        return {schema.email_key_of_contact(i) for i in self._table.batch_get(keys)}
