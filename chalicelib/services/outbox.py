"""Delivery of queued emails (invariant 6): every state change writes its email into the outbox in the same
transaction; the request delivers it at once, and the scheduled job retries whatever is still unsent."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta

from chalicelib.domain.mail import OutgoingEmail, RenderedEmail
from chalicelib.services.ports.common import Clock, TimeLeft
from chalicelib.services.ports.outbox import AttachmentSource, EmailRenderer, Mailer, OutboxStore

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)


@dataclass
class DeliverySummary:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    complete: bool = True

    def as_dict(self) -> dict[str, object]:
        return {"sent": self.sent, "failed": self.failed, "skipped": self.skipped, "complete": self.complete}


class Delivery:
    def __init__(
        self,
        outbox: OutboxStore,
        mailer: Mailer,
        renderer: EmailRenderer,
        clock: Clock,
        attachments: AttachmentSource | None = None,
    ) -> None:
        self._outbox = outbox
        self._mailer = mailer
        self._renderer = renderer
        self._clock = clock
        self._attachments = attachments

    def _rendered(self, email: OutgoingEmail) -> RenderedEmail:
        """A failure here (an invoice PDF that could not be rendered or stored) is retried like a failed send."""
        rendered = self._renderer.render(email)
        if self._attachments is None:
            return rendered
        extra = self._attachments.attachments_for(email)
        return replace(rendered, attachments=rendered.attachments + extra) if extra else rendered

    def deliver_now(self, emails: list[OutgoingEmail]) -> None:
        """Best effort right after the state change committed; a failure leaves the email for the job."""
        for email in emails:
            try:
                provider_id = self._mailer.send(self._rendered(email))
            except Exception:  # the email is safe in the outbox, whatever went wrong here
                log.exception("email %s (%s) not sent now; the outbox job will retry", email.mail_id, email.kind)
                continue
            try:
                recorded = self._outbox.mark_sent(email, provider_id, self._clock.now())
            except Exception:  # sent but not recorded: the job may send it once more, which beats losing it
                log.exception("email %s was sent but could not be marked sent", email.mail_id)
                continue
            if not recorded:
                log.warning("email %s was claimed by the outbox job while being sent", email.mail_id)

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
        try:
            provider_id = self._mailer.send(self._rendered(email))
        except Exception as exc:  # retried later with backoff; the reason is kept on the entry
            attempts = email.attempts + 1
            retry_in = min(timedelta(minutes=2**attempts), MAX_BACKOFF)
            log.warning("email %s failed (attempt %d): %s", email.mail_id, attempts, type(exc).__name__)
            self._outbox.mark_failed(email, f"{type(exc).__name__}: {exc}"[:500], self._clock.now() + retry_in)
            summary.failed += 1
            return
        self._outbox.mark_sent(email, provider_id, self._clock.now())
        summary.sent += 1
