"""Subscriptions, the access reads behind visibility, and activation (other changes are staged on a UnitOfWork)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from chalicelib.domain.access import AccessPage, AuditEvent
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import Subscription
from chalicelib.services.ports.invoices import WriteOperation


class SubscriptionReader(Protocol):
    def get_subscription(self, subscription_id: str) -> Subscription | None: ...

    def get_subscription_and_seat(self, subscription_id: str, email: str) -> tuple[Subscription | None, bool]: ...

    def list_access(self, email: str, country: str, limit: int, cursor: str | None) -> AccessPage: ...

    def countries_of(self, email: str, now: datetime) -> list[str]: ...

    def subscriptions_with_roles(self, ids: list[str], email: str) -> list[tuple[Subscription, frozenset[str]]]: ...


class SubscriptionStore(SubscriptionReader, Protocol):
    def activate(
        self,
        before: Subscription,
        after: Subscription,
        email: OutgoingEmail,
        event: AuditEvent,
        now: datetime,
        also: Sequence[WriteOperation] = (),
    ) -> None:
        """Raises WriteConflict unless `before` is still the stored, pending version and its deadline is ahead.
        `also`: operations another store built for the same transaction (the first invoice)."""
