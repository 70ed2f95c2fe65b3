"""Bounce and complaint notices on a subscription's history."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chalicelib.domain.access import AuditEvent
from chalicelib.domain.models import Subscription


class MailNoticeStore(Protocol):
    def record_notice(
        self, before: Subscription, event: AuditEvent, notice_id: str, retain_until: datetime, orphan_expiry: bool
    ) -> bool:
        """The event as the subscription's next version, once per notice id: False when that notice is already on
        the history. `orphan_expiry`: the event expires at `retain_until` (a pending subscription's items are removed
        at its deadline, its history with them). Raises WriteConflict when the subscription changed since read."""
