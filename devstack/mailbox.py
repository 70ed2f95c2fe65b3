"""The local mailbox: every email the app sent through the embedded SES, read from moto's in-process backend."""

from __future__ import annotations

import contextlib
import email
import email.policy
import functools
import threading
from collections.abc import Callable
from datetime import datetime
from email.message import Message
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID

from chalicelib.domain.models import utc_iso

REGION = "eu-west-1"
_SENT_AT = "devstack_sent_at"
_MARK = "__devstack_stamped__"
_install_lock = threading.Lock()


def stamp_sent_messages(now: Callable[[], datetime]) -> None:
    """moto keeps no send time: record `now()` (the app's clock) on every raw message as SES accepts it. Idempotent;
    the latest `now` wins."""
    from moto.ses.models import SESBackend

    with _install_lock:
        current = SESBackend.send_raw_email
        original = getattr(current, "__wrapped__", current) if getattr(current, _MARK, False) else current

        @functools.wraps(original)
        def send_raw_email(self: Any, *args: Any, **kwargs: Any) -> Any:
            message = original(self, *args, **kwargs)
            with contextlib.suppress(Exception):  # a stamp is a nicety; sending must not fail because of it
                setattr(message, _SENT_AT, now())
            return message

        setattr(send_raw_email, _MARK, True)
        SESBackend.send_raw_email = send_raw_email  # type: ignore[method-assign]  # moto has no send hook: patched


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):  # decode=True gives the bytes of a leaf part, None for a multipart one
        return ""
    return payload.decode(part.get_content_charset() or "utf-8", errors="replace")


def parse(raw: str | bytes) -> dict[str, Any]:
    message = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=email.policy.default)
    text = html = ""
    attachments: list[dict[str, Any]] = []
    for part in message.walk():
        if part.get_content_disposition() == "attachment":
            payload = part.get_payload(decode=True) or b""
            attachments.append(
                {"filename": part.get_filename() or "", "content_type": part.get_content_type(), "size": len(payload)}
            )
            continue
        if part.is_multipart():
            continue
        if part.get_content_type() == "text/plain" and not text:
            text = _decoded(part)
        elif part.get_content_type() == "text/html" and not html:
            html = _decoded(part)
    return {"subject": str(message.get("Subject", "")), "from": str(message.get("From", "")), "text": text,
            "html": html, "attachments": attachments}


def messages(to: str | None = None, account_id: str = DEFAULT_ACCOUNT_ID, region: str = REGION) -> list[dict[str, Any]]:
    """Oldest first. `to` filters on a recipient address, case-insensitively."""
    from email.utils import getaddresses

    from moto.ses.models import ses_backends

    wanted = to.strip().casefold() if to else None
    out: list[dict[str, Any]] = []
    for sent in list(ses_backends[account_id][region].sent_messages):
        raw = getattr(sent, "raw_data", None)
        if raw is None:  # a non-raw SES message; the app only sends raw MIME
            continue
        recipients: list[str] = []
        for _, address in getaddresses(list(sent.destinations)):
            # moto lists a recipient once per Destinations entry and once per To header
            if address and address.casefold() not in (r.casefold() for r in recipients):
                recipients.append(address)
        if wanted and wanted not in (address.casefold() for address in recipients):
            continue
        stamped = getattr(sent, _SENT_AT, None)
        out.append({
            "id": sent.id,
            "to": recipients,
            **parse(raw),
            "sent_at": utc_iso(stamped) if stamped else None,
        })
    return out
