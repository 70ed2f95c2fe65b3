"""Scheduled renewal (DESIGN 14.5): each active subscription whose renewal date has come either renews (the next
term's invoice, issued in the same transaction that moves next_renewal_date on) or, when its cancellation was
requested, ends on that date.

The daily run reads only what is due (every shard of the sparse renewal index up to today) and queues it; workers
settle each subscription (services/fanout.py), reading it by key. Every write is conditional on the subscription
version and renewal date that were read, so a re-run, two runs at once, a cancellation racing the renewal, or a
worker's message delivered again change nothing twice: the loser re-reads and finds the new state. A subscription
several terms behind is renewed term by term (one invoice each) at once. Renewal dates always come from the activation
date (anchor) + k x term_months, clamped to the month's end, so they never drift.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from chalicelib.domain.billing.terms import term_starting
from chalicelib.domain.errors import WriteConflict
from chalicelib.domain.models import Subscription, SubscriptionStatus
from chalicelib.services import emails
from chalicelib.services.fanout import DispatchSummary, Page, budget, dispatch
from chalicelib.services.invoicing import InvoiceIssuer
from chalicelib.services.outbox import Delivery
from chalicelib.services.ports.common import Clock, TimeLeft
from chalicelib.services.ports.renewals import RenewalStore
from chalicelib.services.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from chalicelib.services.ports.work import WorkItem, WorkQueue

log = logging.getLogger(__name__)

ACTOR = "system:renewal"
CONFLICTS_PER_SUBSCRIPTION = 5  # re-reads after a lost condition (a parallel run or a portal change in between)


JOB = "process_renewals"


class RenewalNotSettled(RuntimeError):
    """The subscription (or its invoice series) kept changing under the renewal: the worker's message is retried
    later, the same day, rather than at the next daily run (its invoice would then carry the next day's date)."""


@dataclass
class RenewalSummary:
    renewed: int = 0  # subscriptions renewed (for one term or more)
    ended: int = 0
    invoices: int = 0  # one per renewed term

    def counts(self) -> dict[str, int]:
        return {"renewed": self.renewed, "ended": self.ended, "invoices": self.invoices}


class Renewals:
    def __init__(
        self,
        store: RenewalStore,
        issuer: InvoiceIssuer,
        clock: Clock,
        delivery: Delivery,
        queue: WorkQueue,
        unit_of_work: UnitOfWorkFactory,
    ) -> None:
        self._store = store
        self._unit_of_work = unit_of_work
        self._issuer = issuer
        self._clock = clock
        self._delivery = delivery
        self._queue = queue

    def dispatch_due(self, time_left: TimeLeft, page_size: int = 250, stop_margin_s: float = 15.0) -> DispatchSummary:
        """The scheduled run: queues every subscription due today or earlier, shard by shard, for the workers."""
        today = self._clock.now().date()

        def shard_page(shard: int) -> Page:
            def page(start: str | None) -> tuple[list[WorkItem], str | None]:
                due, following = self._store.due(shard, today, page_size, start)
                return [{"subscription_id": subscription_id} for subscription_id in due], following

            return page

        summary = dispatch(self._queue, JOB, map(shard_page, self._store.shards()), budget(time_left, stop_margin_s))
        log.info("renewals queued: %s", summary.as_dict())
        return summary

    def settle(self, item: WorkItem) -> dict[str, int]:
        """A worker's item: every term of the subscription due by now, or its end. Doing it again changes nothing."""
        now = self._clock.now()
        summary = RenewalSummary()
        self._settle(item["subscription_id"], now.date(), now, summary)
        return summary.counts()

    def _settle(self, subscription_id: str, today: date, now: datetime, summary: RenewalSummary) -> None:
        """Every term due today or earlier, one after the other, until the subscription renews after today or ends."""
        renewed_terms = 0
        conflicts = 0
        known: Subscription | None = None  # after a committed renewal, its new state: no need to read it again
        while True:
            subscription = known or self._store.get_subscription(subscription_id)
            known = None
            renews_on = subscription.next_renewal_date if subscription else None
            if (
                subscription is None
                or subscription.status is not SubscriptionStatus.ACTIVE
                or renews_on is None
                or renews_on > today
            ):
                break
            if subscription.activated_at is None:
                log.error("active subscription %s has no activation date: not renewed", subscription_id)
                break
            try:
                if subscription.cancel_at_renewal:
                    self._end(subscription, renews_on, now)
                    summary.ended += 1
                    break
                known = self._renew(subscription, renews_on, now)
                renewed_terms += 1
                summary.invoices += 1
            except WriteConflict:
                conflicts += 1
                if conflicts >= CONFLICTS_PER_SUBSCRIPTION:
                    raise RenewalNotSettled(
                        f"subscription {subscription_id} kept changing during its renewal; its message is retried"
                    ) from None
        summary.renewed += renewed_terms > 0

    def _renew(self, subscription: Subscription, renews_on: date, now: datetime) -> Subscription:
        assert subscription.activated_at is not None
        term = term_starting(subscription.activated_at.date(), renews_on, subscription.term_months)
        after, event = subscription.renew(term.next_start, ACTOR, now)

        def renewal(uow: UnitOfWork) -> None:
            uow.save(subscription, after, event)

        issued = self._issuer.issue(
            after, period_start=renews_on, period_end=term.end, kind="renewal", now=now, with_change=renewal
        )
        self._delivery.deliver_now([issued.email])
        log.info("subscription %s renewed from %s (invoice %s)", subscription.id, renews_on, issued.invoice.number)
        return after

    def _end(self, subscription: Subscription, renews_on: date, now: datetime) -> None:
        after, event = subscription.end(ACTOR, now)
        email = emails.outgoing(
            emails.SUBSCRIPTION_ENDED, after, after.admin.email, now, f"ended/{renews_on.isoformat()}",
            ended_on_date=renews_on.isoformat(),
        )  # fmt: skip
        uow = self._unit_of_work()
        uow.save(subscription, after, event)
        uow.queue([email])
        uow.commit()
        self._delivery.deliver_now([email])
        log.info("subscription %s ended on %s (cancelled at renewal)", subscription.id, renews_on)
