"""Seats, the customer's contacts, the admin transfer and the history."""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.access import AuditEvent, Contact, Seat
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import Subscription


class AdministrationStore(Protocol):
    def get_roles(self, subscription_id: str, emails: list[str]) -> dict[str, frozenset[str]]: ...

    def get_seat(self, subscription_id: str, email_key: str) -> Seat | None: ...

    def list_seats(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[Seat], str | None]: ...

    def history(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[AuditEvent], str | None]: ...

    def contacts_page(
        self, country: str, customer_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Contact], str | None]: ...

    def contacts_named(self, country: str, customer_id: str, emails: list[str]) -> set[str]: ...

    def assign_seat(self, subscription: Subscription, seat: Seat, email: OutgoingEmail, event: AuditEvent) -> None:
        """Raises WriteConflict when no seat is free, the person holds one, or the subscription is not active."""

    def remove_seat(
        self, subscription: Subscription, email_key: str, roles: frozenset[str], email: OutgoingEmail, event: AuditEvent
    ) -> None: ...

    def transfer_admin(
        self,
        before: Subscription,
        after: Subscription,
        old_roles: frozenset[str],
        new_roles: frozenset[str],
        emails: list[OutgoingEmail],
        event: AuditEvent,
    ) -> None: ...
