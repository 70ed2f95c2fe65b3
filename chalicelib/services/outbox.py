"""Delivery of queued emails (invariant 6): every state change writes its email into the outbox in the same
transaction; the request delivers it at once, and the scheduled job retries whatever is still unsent."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import timedelta

from chalicelib import metrics
from chalicelib.domain.mail import OutgoingEmail, RenderedEmail
from chalicelib.services.ports.common import Clock, TimeLeft
from chalicelib.services.ports.outbox import AttachmentSource, EmailRenderer, Mailer, OutboxStore
from chalicelib.services.ports.telemetry import NoTelemetry, Telemetry

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)


@dataclass
class DeliverySummary:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    complete: bool = True
    backlog: int = 0  # due emails this run met (a lower bound when it stopped early)
    oldest_due_age_s: float = 0.0  # how long the oldest due email had been due when the run began (0: none)

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "skipped": self.skipped,
            "complete": self.complete,
            "backlog": self.backlog,
            "oldest_due_age_s": self.oldest_due_age_s,
        }


class Delivery:
    def __init__(
        self,
        outbox: OutboxStore,
        mailer: Mailer,
        renderer: EmailRenderer,
        clock: Clock,
        telemetry: Telemetry | None = None,
        attachments: AttachmentSource | None = None,
    ) -> None:
        self._outbox = outbox
        self._mailer = mailer
        self._renderer = renderer
        self._clock = clock
        self._telemetry = telemetry or NoTelemetry()
        self._attachments = attachments

    def deliver_now(self, emails: list[OutgoingEmail]) -> None:
        """Best effort right after the state change committed; a failure leaves the email for the job."""
        for email in emails:
            try:
                provider_id = self._mailer.send(self._render(email))
            except Exception:  # the email is safe in the outbox, whatever went wrong here
                self._telemetry.count(metrics.EMAILS_FAILED)
                log.exception(
                    "email %s (%s) not sent now; the outbox job will retry",
                    email.mail_id,
                    email.kind,
                    extra=_keys(email),
                )
                continue
            self._telemetry.count(metrics.EMAILS_SENT)
            log.info("email %s (%s) sent", email.mail_id, email.kind, extra=_keys(email))
            try:
                recorded = self._outbox.mark_sent(email, provider_id, self._clock.now())
            except Exception:  # sent but not recorded: the job may send it once more, which beats losing it
                log.exception("email %s was sent but could not be marked sent", email.mail_id)
                continue
            if not recorded:
                log.warning("email %s was claimed by the outbox job while being sent", email.mail_id)

    def _render(self, email: OutgoingEmail) -> RenderedEmail:
        """The email as sent: its SES tags, and its attachments (a failure to produce one, such as an invoice PDF that
        could not be rendered or stored, is retried like a failed send)."""
        rendered = dataclasses.replace(self._renderer.render(email), tags=mail_tags(email))
        try:
            extra = self._attachments.attachments_for(email) if self._attachments is not None else ()
        except Exception:
            # An invoice whose PDF cannot be produced: the email stays in the outbox and is retried with backoff
            # (other emails still go); logged as an error naming the invoice so support can act on it
            log.exception(
                "attachment of email %s (%s, invoice %s) could not be produced; the email waits in the outbox",
                email.mail_id,
                email.kind,
                email.params.get("invoice_number"),
                extra=_keys(email),
            )
            raise
        return dataclasses.replace(rendered, attachments=rendered.attachments + tuple(extra)) if extra else rendered

    def deliver_due(self, time_left: TimeLeft, batch_size: int = 25, stop_margin_s: float = 10.0) -> DeliverySummary:
        summary = DeliverySummary()
        while True:
            if time_left() < stop_margin_s:
                summary.complete = False
                return summary
            now = self._clock.now()
            due = self._outbox.due_emails(now, batch_size)
            if not due:
                return summary
            if summary.backlog == 0:  # the index is sorted by due time: the first page starts with the oldest
                summary.oldest_due_age_s = max(0.0, (now - min(e.due_at for e in due)).total_seconds())
            summary.backlog += len(due)
            for email in due:
                if time_left() < stop_margin_s:
                    summary.complete = False
                    return summary
                claimed = self._outbox.claim_email(email, now + LEASE)
                if claimed is None:
                    summary.skipped += 1
                    continue
                self._deliver_claimed(claimed, summary)

    def _deliver_claimed(self, email: OutgoingEmail, summary: DeliverySummary) -> None:
        self._telemetry.count(metrics.EMAILS_RETRIED)
        try:
            provider_id = self._mailer.send(self._render(email))
        except Exception as exc:  # retried later with backoff; the reason is kept on the entry
            attempts = email.attempts + 1
            retry_in = min(timedelta(minutes=2**attempts), MAX_BACKOFF)
            self._telemetry.count(metrics.EMAILS_FAILED)
            log.warning(
                "email %s failed (attempt %d): %s; retried in %s",
                email.mail_id,
                attempts,
                type(exc).__name__,
                retry_in,
                extra=_keys(email),
            )
            self._outbox.mark_failed(email, f"{type(exc).__name__}: {exc}"[:500], self._clock.now() + retry_in)
            summary.failed += 1
            return
        self._telemetry.count(metrics.EMAILS_SENT)
        self._outbox.mark_sent(email, provider_id, self._clock.now())
        log.info("email %s (%s) sent by the outbox", email.mail_id, email.kind, extra=_keys(email))
        summary.sent += 1


MAIL_ID_TAG = "mail_id"
SUBSCRIPTION_ID_TAG = "subscription_id"
_TAG_VALUE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.@")


def mail_tags(email: OutgoingEmail) -> tuple[tuple[str, str], ...]:
    """SES message tags (values of letters, digits, _ - . @ only): where a bounce or complaint notice belongs."""
    tags = [(MAIL_ID_TAG, email.mail_id), ("mail_kind", email.kind)]
    subscription_id = email.params.get("subscription_id")
    if isinstance(subscription_id, str):
        tags.append((SUBSCRIPTION_ID_TAG, subscription_id))
    return tuple((name, value) for name, value in tags if value and set(value) <= _TAG_VALUE and len(value) <= 256)


def _keys(email: OutgoingEmail) -> dict[str, str]:
    """The ids a support person searches the logs by; never the address, the token id or any other parameter."""
    keys = {"mail_id": email.mail_id, "mail_kind": email.kind}
    for name in ("subscription_id", "order_id", "invoice_number"):
        value = email.params.get(name)
        if isinstance(value, str):
            keys[name] = value
    return keys
