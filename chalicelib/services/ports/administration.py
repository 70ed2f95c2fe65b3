"""Reads of seats, roles, the customer's contacts and the history (the changes are staged on a UnitOfWork)."""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.access import AuditEvent, Contact, Seat


class AdministrationStore(Protocol):
    def get_roles(self, subscription_id: str, emails: list[str]) -> dict[str, frozenset[str]]: ...

    def get_seat(self, subscription_id: str, email_key: str) -> Seat | None: ...

    def list_seats(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[Seat], str | None]: ...

    def history(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[AuditEvent], str | None]: ...

    def contacts_page(
        self, country: str, customer_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Contact], str | None]: ...

    def contacts_named(self, country: str, customer_id: str, emails: list[str]) -> set[str]: ...
