"""Scheduled reminders (DESIGN 14.6): the activation reminder before a pending subscription's deadline, and the renewal
reminder before an active subscription's renewal date.

What is read: for each threshold (e.g. "30 days before the deadline") and each shard of the sparse index, its whole key
range as of now: pending deadlines in (now + nearer lead, now + lead], renewal dates in (today, today + lead]. The daily
run queues what it reads; workers send each reminder (services/fanout.py), one already sent is skipped by its marker.
The ranges of one kind do not overlap: the 30-day range stops where the 7-day range starts, so a job that was down
sends only the latest threshold due.

Why no watermark: what is due is found from the subscriptions' state (the sparse indexes) every run, whatever the job
history, so a work message that was dead-lettered or lost, a run that stopped early, or a local clock moved forward and
back never hides a reminder that is due and not sent: the next run lists it again. The cost: each run reads the whole
lead window (about `lead` days' worth of subscriptions, not one day's), and queues items whose reminder was already sent
(the worker's marker check answers them with zeros). An earlier release kept watermarks (items `JOB#send_reminders`);
they are no longer read (infra/DEPLOY.md).

Never twice: each reminder puts a marker item (put_new) in the same transaction as its outbox email, under a condition
check that the subscription is still the version that was read (pending before its deadline, or active), so a re-run,
a parallel run, a message delivered again or an activation in between changes nothing twice.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import date, datetime, timedelta

from chalicelib.domain.billing.document import Period
from chalicelib.domain.billing.money import money_str
from chalicelib.domain.billing.pricing import price_subscription_term
from chalicelib.domain.billing.sellers import SellerCatalog
from chalicelib.domain.billing.terms import term_starting
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
        """The daily run: each threshold's whole range as of now, shard by shard, queued for the workers."""
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
        """Queues the whole range as the index lists it now, page by page (no watermark: state decides)."""
        del end  # the range is read whole every run
        start: str | None = None
        while True:
            in_time()
            entries, start = page(None, start)
            if entries:
                summary.messages += self._queue.enqueue(
                    JOB, [{**item, "subscription_id": entry.subscription_id} for entry in entries]
                )
                summary.queued += len(entries)
            if start is None:
                break

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
        # priced as the renewal will invoice it: the term `renews_on` begins (an ACTIVE subscription has its anchor)
        anchor = subscription.activated_at.date() if subscription.activated_at else renews_on
        term = term_starting(anchor, renews_on, subscription.term_months)
        price = price_subscription_term(seller, subscription, Period(start=term.start, end=term.end))
        return emails.outgoing(
            emails.RENEWAL_REMINDER, subscription, to, now, key,
            renewal_date=renews_on.isoformat(), total_amount=money_str(price.total), tax_amount=money_str(price.tax),
            currency=subscription.currency,
            # the treatment the renewal invoice will state (AE, O): its mention, in the subscription's language
            vat_note=price.treatment.exemption.text if price.treatment.exemption else "",
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
