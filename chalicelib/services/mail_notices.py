"""Bounces and complaints: counted, and written on the subscription's history, so support can see why an admin never
received (and never used) an activation link."""

from __future__ import annotations

import logging
from datetime import timedelta

from chalicelib import metrics
from chalicelib.domain.access import AuditEvent
from chalicelib.domain.errors import WriteConflict
from chalicelib.domain.mail import BOUNCE, MailNotice
from chalicelib.domain.models import SubscriptionStatus, utc_iso
from chalicelib.services.ports.common import Clock
from chalicelib.services.ports.mail_notices import MailNoticeStore
from chalicelib.services.ports.subscriptions import SubscriptionReader
from chalicelib.services.ports.telemetry import Telemetry

log = logging.getLogger(__name__)

ACTOR = "mail-provider"
NOTICE_RETENTION = timedelta(days=400)  # as long as an order's tombstone: a removed subscription's notice goes too
ATTEMPTS = 3


class MailNotices:
    def __init__(
        self, subscriptions: SubscriptionReader, store: MailNoticeStore, clock: Clock, telemetry: Telemetry
    ) -> None:
        self._subscriptions = subscriptions
        self._store = store
        self._clock = clock
        self._telemetry = telemetry

    def record(self, notice: MailNotice) -> str:
        """"recorded", "duplicate" (already on the history), "untagged" (not a portal email) or "gone" (the
        subscription no longer exists). Raises WriteConflict when the subscription kept changing (the notice is
        delivered again)."""
        self._telemetry.count(metrics.EMAILS_BOUNCED if notice.kind == BOUNCE else metrics.EMAIL_COMPLAINTS)
        keys = {"subscription_id": notice.subscription_id or "", "mail_id": notice.mail_id or ""}
        if notice.subscription_id is None:
            log.warning("%s notice %s for an email without a subscription tag", notice.kind, notice.notice_id)
            return "untagged"
        for attempt in range(1, ATTEMPTS + 1):
            subscription = self._subscriptions.get_subscription(notice.subscription_id)
            if subscription is None:
                log.warning("%s notice for a subscription that no longer exists", notice.kind, extra=keys)
                return "gone"
            now = self._clock.now()
            event = AuditEvent(
                subscription_id=subscription.id,
                at=now,
                actor=ACTOR,
                action=f"email.{'bounced' if notice.kind == BOUNCE else 'complained'}",
                details=self._details(notice),
            )
            pending = subscription.status is SubscriptionStatus.PENDING_ACTIVATION
            retain_until = max(now, subscription.activation_deadline) + NOTICE_RETENTION
            try:
                recorded = self._store.record_notice(subscription, event, notice.notice_id, retain_until, pending)
            except WriteConflict:
                if attempt == ATTEMPTS:
                    raise
                continue
            log.warning(
                "%s of a %s email recorded on the subscription's history%s",
                notice.kind,
                notice.mail_kind or "portal",
                "" if recorded else " (already there)",
                extra={**keys, "order_id": subscription.order_id, **notice.details},
            )
            return "recorded" if recorded else "duplicate"
        raise AssertionError("unreachable")

    @staticmethod
    def _details(notice: MailNotice) -> dict[str, object]:
        details: dict[str, object] = {**notice.details, "recipients": list(notice.recipients)}
        if notice.mail_kind:
            details["email"] = notice.mail_kind
        if notice.mail_id:
            details["mail_id"] = notice.mail_id
        if notice.reported_at is not None:
            details["reported_at"] = utc_iso(notice.reported_at)
        return details
