"""Delivery of queued outbox messages (invariant 6): every state change writes its messages (emails today) into the
outbox in the same transaction; the request delivers them at once, and the scheduled job retries whatever is still
unsent. The loop knows no channel: each channel's dispatcher delivers its messages and sets its retry policy."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from chalicelib.domain.outbox import OutboxMessage
from chalicelib.services.ports.common import Clock, TimeLeft
from chalicelib.services.ports.outbox import ChannelDispatcher, OutboxStore
from chalicelib.services.ports.telemetry import NoTelemetry, Telemetry

log = logging.getLogger(__name__)

# A message for a channel this deployment does not deliver (one being rolled out) waits this long between looks
UNKNOWN_CHANNEL_LEASE = timedelta(minutes=5)
UNKNOWN_CHANNEL_RETRY = timedelta(hours=1)


@dataclass
class DeliverySummary:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    complete: bool = True
    backlog: int = 0  # due messages this run met (a lower bound when it stopped early)
    oldest_due_age_s: float = 0.0  # how long the oldest due message had been due when the run began (0: none)

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
        channels: Mapping[str, ChannelDispatcher],
        clock: Clock,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._outbox = outbox
        self._channels = dict(channels)
        self._clock = clock
        self._telemetry = telemetry or NoTelemetry()

    def deliver_now(self, messages: Sequence[OutboxMessage]) -> None:
        """Best effort right after the state change committed; a failure leaves the message for the job."""
        for message in messages:
            channel = self._channels.get(message.channel)
            if channel is None:
                log.error("%s %s has no channel to deliver it; it waits", message.channel, message.message_id)
                continue
            policy = channel.policy
            try:
                provider_id = channel.dispatch(message)
            except Exception:  # the message is safe in the outbox, whatever went wrong here
                self._telemetry.count(policy.failed_metric)
                log.exception(
                    "%s %s (%s) not sent now; the outbox job will retry",
                    policy.noun,
                    message.message_id,
                    message.kind,
                    extra=channel.log_keys(message),
                )
                continue
            self._telemetry.count(policy.sent_metric)
            log.info("%s %s (%s) sent", policy.noun, message.message_id, message.kind, extra=channel.log_keys(message))
            try:
                recorded = self._outbox.mark_sent(message, provider_id, self._clock.now())
            except Exception:  # sent but not recorded: the job may send it once more, which beats losing it
                log.exception("%s %s was sent but could not be marked sent", policy.noun, message.message_id)
                continue
            if not recorded:
                log.warning("%s %s was claimed by the outbox job while being sent", policy.noun, message.message_id)

    def deliver_due(self, time_left: TimeLeft, batch_size: int = 25, stop_margin_s: float = 10.0) -> DeliverySummary:
        summary = DeliverySummary()
        while True:
            if time_left() < stop_margin_s:
                summary.complete = False
                return summary
            now = self._clock.now()
            due = self._outbox.due_messages(now, batch_size)
            if not due:
                return summary
            if summary.backlog == 0:  # the index is sorted by due time: the first page starts with the oldest
                summary.oldest_due_age_s = max(0.0, (now - min(m.due_at for m in due)).total_seconds())
            summary.backlog += len(due)
            for message in due:
                if time_left() < stop_margin_s:
                    summary.complete = False
                    return summary
                channel = self._channels.get(message.channel)
                lease = channel.policy.lease if channel is not None else UNKNOWN_CHANNEL_LEASE
                claimed = self._outbox.claim(message, now + lease)
                if claimed is None:
                    summary.skipped += 1
                    continue
                if channel is None:
                    self._hold_back(claimed, summary)
                    continue
                self._deliver_claimed(channel, claimed, summary)

    def _hold_back(self, message: OutboxMessage, summary: DeliverySummary) -> None:
        """Claimed, then put back for later: left on the index unclaimed, it would fill every page of due messages."""
        log.error("%s %s has no channel to deliver it; it waits in the outbox", message.channel, message.message_id)
        retry_at = self._clock.now() + UNKNOWN_CHANNEL_RETRY
        self._outbox.mark_failed(message, f"no dispatcher for channel {message.channel}", retry_at)
        summary.failed += 1

    def _deliver_claimed(self, channel: ChannelDispatcher, message: OutboxMessage, summary: DeliverySummary) -> None:
        policy = channel.policy
        self._telemetry.count(policy.retried_metric)
        try:
            provider_id = channel.dispatch(message)
        except Exception as exc:  # retried later with backoff; the reason is kept on the entry
            attempts = message.attempts + 1
            retry_in = policy.backoff(attempts)
            self._telemetry.count(policy.failed_metric)
            log.warning(
                "%s %s failed (attempt %d): %s; retried in %s",
                policy.noun,
                message.message_id,
                attempts,
                type(exc).__name__,
                retry_in,
                extra=channel.log_keys(message),
            )
            self._outbox.mark_failed(message, f"{type(exc).__name__}: {exc}"[:500], self._clock.now() + retry_in)
            summary.failed += 1
            return
        self._telemetry.count(policy.sent_metric)
        self._outbox.mark_sent(message, provider_id, self._clock.now())
        log.info(
            "%s %s (%s) sent by the outbox",
            policy.noun,
            message.message_id,
            message.kind,
            extra=channel.log_keys(message),
        )
        summary.sent += 1
