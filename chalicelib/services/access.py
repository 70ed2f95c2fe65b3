"""Who may see which subscription, in which role (DESIGN section 3): the portal's reads and every route's
authorization. A route authorizes here before it reads its body."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.capabilities import ADMIN_ONLY, ENDED_READ_ONLY, NOT_ACTIVE
from chalicelib.domain.errors import Conflict, Forbidden, NotFound
from chalicelib.domain.models import Role, Subscription, SubscriptionStatus
from chalicelib.services.identity import Caller
from chalicelib.services.ports.common import Clock
from chalicelib.services.ports.subscriptions import SubscriptionReader

NOT_VISIBLE = "No subscription with this id is visible to you. Check that you signed in on your country's web site."
MAX_PAGE = 50  # a page's subscriptions and the caller's roles on them fit one BatchGetItem (100 keys)


@dataclass(frozen=True)
class Authorized:
    """A subscription the caller may act on, read once, with the caller's role on it."""

    caller: Caller
    subscription: Subscription
    role: Role


@dataclass(frozen=True)
class SubscriptionList:
    items: list[Authorized]
    next_cursor: str | None
    other_countries: list[str]


class SubscriptionAccess:
    def __init__(self, subscriptions: SubscriptionReader, clock: Clock) -> None:
        self._subscriptions = subscriptions
        self._clock = clock

    def visible(self, caller: Caller, subscription_id: str) -> Authorized:
        """The subscription with the caller's role, or NotFound: never reveal that something exists."""
        subscription, holds_seat = self._subscriptions.get_subscription_and_seat(subscription_id, caller.key)
        if subscription is None or subscription.country != caller.country:
            raise NotFound(NOT_VISIBLE)
        if not subscription.is_visible_at(self._clock.now()):
            raise NotFound(NOT_VISIBLE)
        role = subscription.role_of(caller.email, holds_seat)
        if role is None:
            raise NotFound(NOT_VISIBLE)
        return Authorized(caller, subscription, role)

    def authorize(self, caller: Caller, subscription_id: str, *, role: Role | None, active: bool) -> Authorized:
        """`role`: the role the caller needs (None: any role that sees it). `active`: only an active subscription."""
        seen = self.visible(caller, subscription_id)
        if role is Role.ADMIN and seen.role is not Role.ADMIN:
            raise Forbidden(ADMIN_ONLY)
        if active and seen.subscription.status is SubscriptionStatus.ENDED:
            raise Conflict(ENDED_READ_ONLY)
        if active and seen.subscription.status is not SubscriptionStatus.ACTIVE:
            raise Conflict(NOT_ACTIVE)
        return seen

    def list_subscriptions(self, caller: Caller, *, limit: int, cursor: str | None) -> SubscriptionList:
        now = self._clock.now()
        page = self._subscriptions.list_access(caller.key, caller.country, min(max(limit, 1), MAX_PAGE), cursor)
        live_ids = [e.subscription_id for e in page.entries if e.visible_until is None or now < e.visible_until]
        found = self._subscriptions.subscriptions_with_roles(live_ids, caller.key) if live_ids else []
        by_id = {s.id: (s, roles) for s, roles in found}
        items: list[Authorized] = []
        for subscription_id in live_ids:
            if subscription_id not in by_id:
                continue
            subscription, roles = by_id[subscription_id]
            if subscription.country != caller.country or not subscription.is_visible_at(now):
                continue
            role = subscription.role_of(caller.email, holds_seat="seat" in roles)
            if role is not None:
                items.append(Authorized(caller, subscription, role))
        other_countries: list[str] = []
        if not items and cursor is None:
            other_countries = [c for c in self._subscriptions.countries_of(caller.key, now) if c != caller.country]
        return SubscriptionList(items=items, next_cursor=page.next_cursor, other_countries=other_countries)

    def entitlements(self, caller: Caller, limit: int, cursor: str | None) -> tuple[list[Subscription], str | None]:
        """The active subscriptions on which the caller holds a seat (what a product checks before it runs)."""
        page = self._subscriptions.list_access(caller.key, caller.country, limit, cursor)
        seat_ids = [e.subscription_id for e in page.entries if "seat" in e.roles]
        found = self._subscriptions.subscriptions_with_roles(seat_ids, caller.key) if seat_ids else []
        by_id = {s.id: (s, roles) for s, roles in found}
        usable = [
            by_id[i][0]
            for i in seat_ids
            if i in by_id
            and "seat" in by_id[i][1]
            and by_id[i][0].status is SubscriptionStatus.ACTIVE
            and by_id[i][0].country == caller.country
        ]
        return usable, page.next_cursor
