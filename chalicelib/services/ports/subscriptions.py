"""Subscriptions and the access reads behind visibility (changes are staged on a UnitOfWork)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chalicelib.domain.access import AccessPage
from chalicelib.domain.models import Subscription


class SubscriptionReader(Protocol):
    def get_subscription(self, subscription_id: str) -> Subscription | None: ...

    def get_subscription_and_seat(self, subscription_id: str, email: str) -> tuple[Subscription | None, bool]: ...

    def list_access(self, email: str, country: str, limit: int, cursor: str | None) -> AccessPage: ...

    def countries_of(self, email: str, now: datetime) -> list[str]: ...

    def subscriptions_with_roles(self, ids: list[str], email: str) -> list[tuple[Subscription, frozenset[str]]]: ...


class SubscriptionStore(SubscriptionReader, Protocol):
    """The subscription reads; its changes are staged on a UnitOfWork."""
