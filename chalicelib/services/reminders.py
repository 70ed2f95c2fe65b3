"""Scheduled reminders (DESIGN 14.6): the activation reminder before a pending subscription's deadline, and the renewal
reminder before an active subscription's renewal date.

What is read: for each threshold (e.g. "30 days before the deadline") and each shard of the sparse index, its key range
from where the previous runs stopped (a stored watermark per threshold and shard) up to now + lead time. The daily run
only queues what it reads (the watermark moves once a page is queued); workers send each reminder
(services/fanout.py). A daily run so reads about one day's worth of subscriptions per threshold, in proportion to what
is due, not to what is live; a run that stops early stores how far it got and the next one goes on from there. The
ranges of one kind do not overlap: the 30-day range stops where the 7-day range starts, so a job that was down sends
only the latest threshold due.

Why watermarks rather than a dedicated "next reminder at" index: it needs no new index, no reminder key kept in step by
intake, activation and renewal, and lead times stay pure configuration (changing one starts a new watermark).
Limitation: a subscription that enters a range behind its watermark is not reminded for that threshold: an order that
arrives with less than the lead time left (its activation email is fresh), or a term no longer than the lead time
(its renewal invoice just went out).

Never twice: each reminder puts a marker item (put_new) in the same transaction as its outbox email, under a condition
check that the subscription is still the version that was read (pending before its deadline, or active), so a re-run,
a parallel run, a message delivered again or an activation in between changes nothing twice.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import date, datetime, timedelta

from chalicelib.domain.billing import SellerCatalog, compute_amounts, is_reverse_charge, money_str
from chalicelib.domain.errors import WriteConflict
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import Subscription, SubscriptionStatus
from chalicelib.services import emails
from chalicelib.services.fanout import DispatchSummary, OutOfTime, budget
from chalicelib.services.outbox import Delivery
from chalicelib.services.ports.common import Clock, TimeLeft
from chalicelib.services.ports.reminders import IndexEntry, ReminderStore
from chalicelib.services.ports.work import WorkItem, WorkQueue

log = logging.getLogger(__name__)

ATTEMPTS = 3  # re-reads of a subscription that changed while its reminder was being committed
IndexPage = Callable[[str | None, str | None], tuple[list[IndexEntry], str | None]]


JOB = "send_reminders"


class ReminderNotSettled(RuntimeError):
    """The subscription kept changing while its reminder was being committed: the worker's message is retried."""


class Reminders:
    def __init__(
        self,
        store: ReminderStore,
        clock: Clock,
        sellers: SellerCatalog,
        delivery: Delivery,
        queue: WorkQueue,
        activation_lead_days: tuple[int, ...] = (30, 7),
        renewal_lead_days: int = 30,
    ) -> None:
        self._store = store
        self._clock = clock
        self._sellers = sellers
        self._delivery = delivery
        self._queue = queue
        self._activation_leads = tuple(sorted(set(activation_lead_days), reverse=True))
        self._renewal_lead = renewal_lead_days

    def dispatch_due(self, time_left: TimeLeft, page_size: int = 250, stop_margin_s: float = 15.0) -> DispatchSummary:
        """The daily run: each threshold's range past its watermark, shard by shard, queued for the workers."""
        summary = DispatchSummary()
        in_time = budget(time_left, stop_margin_s)
        now = self._clock.now()
        today = now.date()
        try:
            for n, lead in enumerate(self._activation_leads):
                nearer = self._activation_leads[n + 1] if n + 1 < len(self._activation_leads) else 0
                floor, upto = now + timedelta(days=nearer), now + timedelta(days=lead)
                item = {"kind": "activation", "lead_days": str(lead), "nearer_days": str(nearer)}
                for shard in self._store.shards():

                    def pending(
                        after: str | None, start: str | None, s: int = shard, f: datetime = floor, u: datetime = upto
                    ) -> tuple[list[IndexEntry], str | None]:
                        return self._store.pending_deadlines(s, after, f, u, page_size, start)

                    name = f"activation-{lead}d/{shard}"
                    self._walk(name, pending, self._store.pending_range_end(upto), item, summary, in_time)

            upto_day = today + timedelta(days=self._renewal_lead)
            item = {"kind": "renewal", "today": today.isoformat(), "upto": upto_day.isoformat()}
            for shard in self._store.shards():

                def renewing(
                    after: str | None, start: str | None, s: int = shard
                ) -> tuple[list[IndexEntry], str | None]:
                    return self._store.renewal_dates(s, after, today, upto_day, page_size, start)

                name = f"renewal-{self._renewal_lead}d/{shard}"
                self._walk(name, renewing, self._store.renewal_range_end(upto_day), item, summary, in_time)
        except OutOfTime:
            summary.complete = False
        log.info("reminders queued: %s", summary.as_dict())
        return summary

    def _walk(
        self,
        name: str,
        page: IndexPage,
        end: str,
        item: dict[str, str],
        summary: DispatchSummary,
        in_time: Callable[[], None],
    ) -> None:
        """Queues the range past the watermark, page by page, moving the watermark once a page is queued."""
        after = self._store.watermark(name)
        start: str | None = None
        while True:
            in_time()
            entries, start = page(after, start)
            if entries:
                summary.messages += self._queue.enqueue(
                    JOB, [{**item, "subscription_id": entry.subscription_id} for entry in entries]
                )
                summary.queued += len(entries)
                self._store.advance_watermark(name, entries[-1].position)
            if start is None:
                break
        self._store.advance_watermark(name, end)

    def send(self, item: WorkItem) -> dict[str, int]:
        """A worker's item: {"activation_reminders": 1} or {"renewal_reminders": 1} when sent; zeros when there was
        nothing to send (already sent, activated, renewed, cancelled...). Raises ReminderNotSettled to be retried."""
        now = self._clock.now()
        subscription_id = item["subscription_id"]
        if item["kind"] == "activation":
            nearer = timedelta(days=int(item.get("nearer_days", "0")))
            sent = self._activation_reminder(subscription_id, int(item["lead_days"]), now, nearer)
            counter = "activation_reminders"
        else:
            today, upto = date.fromisoformat(item["today"]), date.fromisoformat(item["upto"])
            sent = self._renewal_reminder(subscription_id, today, upto, now)
            counter = "renewal_reminders"
        if sent is None:
            raise ReminderNotSettled(f"subscription {subscription_id} kept changing; its reminder is retried")
        return {counter: int(sent)}

    # -- one reminder each: True sent, False nothing to send, None not settled --------------------------------------
    def _activation_reminder(
        self, subscription_id: str, lead: int, now: datetime, nearer: timedelta = timedelta(0)
    ) -> bool | None:
        for _ in range(ATTEMPTS):
            subscription = self._store.get_subscription(subscription_id)
            if (
                subscription is None
                or subscription.status is not SubscriptionStatus.PENDING_ACTIVATION
                or now >= subscription.activation_deadline
            ):
                return False  # activated, removed or expired meanwhile: never a reminder then
            if subscription.activation_deadline - now <= nearer:
                return False  # done this late (a redrive), a nearer threshold is due instead: only the latest is sent
            days_left = max(1, math.ceil((subscription.activation_deadline - now) / timedelta(days=1)))
            extra: dict[str, object] = {"days_left": days_left}
            if subscription.activation_token_id:
                extra["token_id"] = subscription.activation_token_id  # the link of the email before keeps working
            email = emails.outgoing(
                emails.ACTIVATION_REMINDER, subscription, subscription.admin.email, now, f"reminder/{lead}d", **extra
            )
            outcome = self._commit(self._store.send_activation_reminder, subscription, f"activation/{lead}d", email,
                                   now)  # fmt: skip
            if outcome is not None:
                return outcome
        return None

    def _renewal_reminder(self, subscription_id: str, today: date, upto: date, now: datetime) -> bool | None:
        for _ in range(ATTEMPTS):
            subscription = self._store.get_subscription(subscription_id)
            renews_on = subscription.next_renewal_date if subscription else None
            if (
                subscription is None
                or subscription.status is not SubscriptionStatus.ACTIVE
                or renews_on is None
                or not today < renews_on <= upto
            ):
                return False
            email = self._renewal_email(subscription, renews_on, now)
            if email is None:
                return False
            outcome = self._commit(self._store.send_renewal_reminder, subscription, f"renewal/{renews_on.isoformat()}",
                                   email, now)  # fmt: skip
            if outcome is not None:
                return outcome
        return None

    def _renewal_email(self, subscription: Subscription, renews_on: date, now: datetime) -> OutgoingEmail | None:
        key = f"reminder/{renews_on.isoformat()}"
        to = subscription.admin.email
        if subscription.cancel_at_renewal:
            return emails.outgoing(
                emails.RENEWAL_REMINDER_ENDING, subscription, to, now, key, renewal_date=renews_on.isoformat()
            )
        seller = self._sellers.get(subscription.country)
        if seller is None:
            log.error(
                "no seller for %s: no renewal reminder for subscription %s", subscription.country, subscription.id
            )
            return None
        customer = subscription.customer
        buyer_country = customer.address.country if customer.address else None
        reverse = is_reverse_charge(seller.country, buyer_country, customer.vat_id)
        amounts = compute_amounts(
            subscription.license_quantity, subscription.unit_price, seller.vat_rate, subscription.currency, reverse
        )
        return emails.outgoing(
            emails.RENEWAL_REMINDER, subscription, to, now, key,
            renewal_date=renews_on.isoformat(), total_amount=money_str(amounts.total), currency=subscription.currency,
        )  # fmt: skip

    def _commit(
        self,
        send: Callable[[Subscription, str, OutgoingEmail, datetime], None],
        subscription: Subscription,
        marker: str,
        email: OutgoingEmail,
        now: datetime,
    ) -> bool | None:
        """True sent; False already sent (the marker exists); None the subscription changed: read it again."""
        try:
            send(subscription, marker, email, now)
        except WriteConflict as conflict:
            if "marker" in conflict.failed:
                return False
            return None
        self._delivery.deliver_now([email])
        log.info("%s sent for subscription %s (%s)", email.kind, subscription.id, marker)
        return True
