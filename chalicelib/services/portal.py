"""Portal reads: what a caller may see (DESIGN section 3)."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.errors import NotFound
from chalicelib.domain.models import Role, Subscription
from chalicelib.services.identity import Caller
from chalicelib.services.ports import Clock, PortalRepository

NOT_VISIBLE = "No subscription with this id is visible to you. Check that you signed in on your country's web site."
MAX_PAGE = 50  # a page's subscriptions and the caller's roles on them fit one BatchGetItem (100 keys)


@dataclass(frozen=True)
class VisibleSubscription:
    subscription: Subscription
    role: Role


@dataclass(frozen=True)
class SubscriptionList:
    items: list[VisibleSubscription]
    next_cursor: str | None
    other_countries: list[str]


def visible_subscription(
    caller: Caller, subscription_id: str, *, repo: PortalRepository, clock: Clock
) -> tuple[Subscription, Role]:
    """The subscription with the caller's role, or NotFound: never reveal that something exists."""
    subscription, holds_seat = repo.get_subscription_and_seat(subscription_id, caller.key)
    if subscription is None or subscription.country != caller.country:
        raise NotFound(NOT_VISIBLE)
    if not subscription.is_visible_at(clock.now()):
        raise NotFound(NOT_VISIBLE)
    role = subscription.role_of(caller.email, holds_seat)
    if role is None:
        raise NotFound(NOT_VISIBLE)
    return subscription, role


def list_subscriptions(
    caller: Caller, *, limit: int, cursor: str | None, repo: PortalRepository, clock: Clock
) -> SubscriptionList:
    now = clock.now()
    page = repo.list_access(caller.key, caller.country, min(max(limit, 1), MAX_PAGE), cursor)
    live_ids = [e.subscription_id for e in page.entries if e.visible_until is None or now < e.visible_until]
    found = repo.subscriptions_with_roles(live_ids, caller.key) if live_ids else []
    by_id = {s.id: (s, roles) for s, roles in found}
    items: list[VisibleSubscription] = []
    for subscription_id in live_ids:
        if subscription_id not in by_id:
            continue
        subscription, roles = by_id[subscription_id]
        if subscription.country != caller.country or not subscription.is_visible_at(now):
            continue
        role = subscription.role_of(caller.email, holds_seat="seat" in roles)
        if role is not None:
            items.append(VisibleSubscription(subscription, role))
    other_countries: list[str] = []
    if not items and cursor is None:
        other_countries = [c for c in repo.countries_of(caller.key, now) if c != caller.country]
    return SubscriptionList(items=items, next_cursor=page.next_cursor, other_countries=other_countries)
