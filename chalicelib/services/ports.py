"""Ports the use cases depend on. Adapters implement them; services never import adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.models import Subscription


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class OutgoingEmail:
    """An email waiting in the outbox: what to render, for whom, in which language."""

    mail_id: str
    kind: str
    to: str
    locale: str
    country: str
    params: dict[str, Any]
    due_at: datetime
    attempts: int = 0


@dataclass(frozen=True)
class RenderedEmail:
    to: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class ActivationToken:
    token_hash: str
    subscription_id: str
    admin_email: str
    expires_at: datetime


@dataclass(frozen=True)
class AuditEvent:
    subscription_id: str
    at: datetime
    actor: str
    action: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderRecord:
    order_id: str
    subscription_id: str
    removed: bool


@dataclass(frozen=True)
class AccessEntry:
    subscription_id: str
    country: str
    visible_until: datetime | None
    roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ExpiredEntry:
    """A pending subscription past its deadline, as the sparse deadline index lists it."""

    subscription_id: str
    order_id: str
    admin_key: str


@dataclass(frozen=True)
class Seat:
    email: str
    name: str
    assigned_at: datetime


@dataclass(frozen=True)
class Contact:
    email: str
    name: str


@dataclass(frozen=True)
class SubscriptionChange:
    """A targeted update of a subscription: only `fields` change, under `expected_version` when given."""

    fields: dict[str, Any]
    expected_version: int | None = None
    require: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    entries: list[AccessEntry]
    next_cursor: str | None


class PortalRepository(Protocol):
    def create_pending(
        self, subscription: Subscription, token: ActivationToken, email: OutgoingEmail, order_fingerprint: str
    ) -> None: ...

    def get_order(self, order_id: str) -> OrderRecord | None: ...

    def get_subscription(self, subscription_id: str) -> Subscription | None: ...

    def get_subscription_and_seat(self, subscription_id: str, email: str) -> tuple[Subscription | None, bool]: ...

    def get_token(self, token_hash: str) -> ActivationToken | None: ...

    def activate(
        self, before: Subscription, after: Subscription, email: OutgoingEmail, event: AuditEvent, now: datetime
    ) -> None: ...

    def rotate_token(
        self, before: Subscription, after: Subscription, token: ActivationToken, email: OutgoingEmail
    ) -> None: ...

    def list_access(self, email: str, country: str, limit: int, cursor: str | None) -> Page: ...

    def countries_of(self, email: str, now: datetime) -> list[str]: ...

    def subscriptions_with_roles(self, ids: list[str], email: str) -> list[tuple[Subscription, frozenset[str]]]: ...

    def expired_pending(
        self, now: datetime, limit: int, start: str | None
    ) -> tuple[list[ExpiredEntry], str | None]: ...

    def remove_expired(self, expired: ExpiredEntry, now: datetime, tombstone_ttl: datetime) -> bool: ...

    def due_emails(self, now: datetime, limit: int) -> list[OutgoingEmail]: ...

    def claim_email(self, email: OutgoingEmail, lease_until: datetime) -> OutgoingEmail | None: ...

    def mark_sent(self, email: OutgoingEmail, provider_id: str, now: datetime) -> bool: ...

    def mark_failed(self, email: OutgoingEmail, error: str, retry_at: datetime) -> None: ...


class ManagementRepository(Protocol):
    def get_subscription(self, subscription_id: str) -> Subscription | None: ...

    def get_subscription_and_seat(self, subscription_id: str, email: str) -> tuple[Subscription | None, bool]: ...

    def get_roles(self, subscription_id: str, emails: list[str]) -> dict[str, frozenset[str]]: ...

    def get_seat(self, subscription_id: str, email_key: str) -> Seat | None: ...

    def assign_seat(self, subscription: Subscription, seat: Seat, email: OutgoingEmail, event: AuditEvent) -> None: ...

    def remove_seat(
        self, subscription: Subscription, email_key: str, roles: frozenset[str], email: OutgoingEmail, event: AuditEvent
    ) -> None: ...

    def list_seats(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[Seat], str | None]: ...

    def contacts_page(
        self, country: str, customer_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Contact], str | None]: ...

    def contacts_named(self, country: str, customer_id: str, emails: list[str]) -> set[str]: ...

    def transfer_admin(
        self,
        before: Subscription,
        after: Subscription,
        old_roles: frozenset[str],
        new_roles: frozenset[str],
        emails: list[OutgoingEmail],
        event: AuditEvent,
    ) -> None: ...

    def change_subscription(
        self, before: Subscription, change: SubscriptionChange, emails: list[OutgoingEmail], event: AuditEvent
    ) -> Subscription: ...

    def history(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[AuditEvent], str | None]: ...

    def list_access(self, email: str, country: str, limit: int, cursor: str | None) -> Page: ...

    def subscriptions_with_roles(self, ids: list[str], email: str) -> list[tuple[Subscription, frozenset[str]]]: ...


class Mailer(Protocol):
    def send(self, email: RenderedEmail) -> str: ...


class EmailRenderer(Protocol):
    def render(self, email: OutgoingEmail) -> RenderedEmail: ...


@dataclass(frozen=True)
class AgreementText:
    country: str
    language: str
    version: str
    title: str
    text: str


class AgreementCatalog(Protocol):
    def current(self, country: str, language: str) -> AgreementText: ...

    def get(self, country: str, language: str, version: str) -> AgreementText | None: ...


TimeLeft = Callable[[], float]
"""Seconds a job may still run before it must stop cleanly."""

LinkSecret = Callable[[], bytes]
"""The secret activation links are derived from (fetched lazily, cached by the adapter)."""


class MailDeliveryFailed(Exception):
    """The mail provider did not accept a message; the outbox keeps it for a retry."""
