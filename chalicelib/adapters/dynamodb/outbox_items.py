"""Outbox items: one per message, on its channel, under the mail key and on the due-time index while unsent."""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters.dynamodb.schema import UNSENT_PARTITION, Item, mail_key, plain, sharded
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import parse_utc, utc_iso
from chalicelib.domain.outbox import EMAIL_CHANNEL, OutboxMessage


def due_key(due_at: datetime, message_id: str) -> str:
    return f"{utc_iso(due_at)}#{message_id}"


def mail_item(email: OutgoingEmail) -> Item:
    """An email keeps the attributes it had before the outbox knew other channels (the console reads them)."""
    return {
        **mail_key(email.mail_id),
        "type": "mail",
        "channel": EMAIL_CHANNEL,
        "mail_id": email.mail_id,
        "kind": email.kind,
        "to": email.to,
        "locale": email.locale,
        "country": email.country,
        "params": email.params,
        "due_at": utc_iso(email.due_at),
        "attempts": email.attempts,
        "status": "queued",
        "OBPK": sharded(UNSENT_PARTITION, email.mail_id),
        "OBSK": due_key(email.due_at, email.mail_id),
    }


def mail_from(item: Item) -> OutgoingEmail:
    return OutgoingEmail(
        mail_id=item["mail_id"],
        kind=item["kind"],
        to=item["to"],
        locale=item["locale"],
        country=item["country"],
        params=plain(item.get("params") or {}),
        due_at=parse_utc(item["due_at"]),
        attempts=int(item.get("attempts", 0)),
    )


def message_item(message: OutboxMessage) -> Item:
    """Same key, due-time index and ids on every channel; a channel other than email keeps its payload in a map."""
    if message.channel == EMAIL_CHANNEL:
        return mail_item(OutgoingEmail.from_message(message))
    return {
        **mail_key(message.message_id),
        "type": "mail",
        "channel": message.channel,
        "mail_id": message.message_id,
        "kind": message.kind,
        "payload": message.payload,
        "due_at": utc_iso(message.due_at),
        "attempts": message.attempts,
        "status": "queued",
        "OBPK": sharded(UNSENT_PARTITION, message.message_id),
        "OBSK": due_key(message.due_at, message.message_id),
    }


def message_from(item: Item) -> OutboxMessage:
    """An item without `channel` was written before there were channels: it is an email."""
    channel = str(item.get("channel") or EMAIL_CHANNEL)
    if channel == EMAIL_CHANNEL:
        return mail_from(item)
    return OutboxMessage(
        message_id=item["mail_id"],
        channel=channel,
        kind=item["kind"],
        payload=plain(item.get("payload") or {}),
        due_at=parse_utc(item["due_at"]),
        attempts=int(item.get("attempts", 0)),
    )
