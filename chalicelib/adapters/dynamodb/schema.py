"""The single-table key schema and the item codecs: the only module that writes a key string.

Item layout (PK / SK):
  SUB#<id> / SUB                 the subscription; DLPK/DLSK while pending (sparse deadline index),
                                 RNPK/RNSK while active (sparse renewal index); DLPK = PENDING#<shard>,
                                 RNPK = ACTIVE#<shard> (see INDEX_SHARDS)
  SUB#<id> / ACCESS#<email>      who may see it: GSI1PK=PERSON#<email>, GSI1SK=<country>#<ordered_at>#<id>
  SUB#<id> / SEAT#<email>        a seat
  SUB#<id> / EVIDENCE#ACTIVATION immutable acceptance record
  SUB#<id> / EVENT#v<version>    audit events, newest first by SK: keyed by the version their change committed
  CUSTOMER#<country>#<id> / CONTACT#<email>   people the customer has named (admins, seat holders)
  ORDER#<order_id> / ORDER       order id -> subscription, and the tombstone once removed
  TOKEN#<sha256> / TOKEN         activation token: subscription, admin, expiry
  MAIL#<id> / MAIL               outbox entry; OBPK/OBSK while unsent (sparse, keyed by due time); OBPK = UNSENT#<shard>
  IDEMPOTENCY#<sha256> / IDEMPOTENCY   a mutation's first response, for retries with the same Idempotency-Key
  SUB#<id> / MAILNOTICE#<sha256>  a bounce or complaint notice already recorded on the history (SNS redelivers)
  SUB#<id> / REMINDER#<marker>   a reminder that was sent (activation/<lead days>, renewal/<date>): never twice
  JOB#<job> / WATERMARK#<name>   how far a reminder threshold's index range has been read
  SUB#<id> / INVOICE#..., INVOICEID#..., SERIES#...   billing documents, their causes, number series:
                                 keys and codecs in invoice_schema.py

A new item type adds its key function and its codec here, and its store in its own module.
Keys are plain dicts ({"PK": ..., "SK": ...}); the table and the unit of work serialize them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib.domain.access import AccessEntry, AuditEvent, Contact, Seat
from chalicelib.domain.activation_links import ActivationToken
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.models import (
    ExpiredOrder,
    OrderRecord,
    Person,
    Subscription,
    SubscriptionStatus,
    normalize_email,
    parse_utc,
    subscription_from_record,
    to_record,
    utc_iso,
)

Key = dict[str, str]
Item = dict[str, Any]

# The sparse indexes' partition keys carry a shard suffix: one partition key value takes at most one partition's
# write rate (1,000 writes/s), and a renewal day or an order peak at a large vendor's volume needs more
# (docs/capacity.md). An item's shard comes from its own id, so it never moves while the item stays listed; the jobs
# query every shard.
INDEX_SHARDS = 8
PENDING_PARTITION = "PENDING"
ACTIVE_PARTITION = "ACTIVE"
UNSENT_PARTITION = "UNSENT"
ACCESS_PREFIX = "ACCESS#"
SEAT_PREFIX = "SEAT#"
EVENT_PREFIX = "EVENT#"
CONTACT_PREFIX = "CONTACT#"
SUBSCRIPTION_SK = "SUB"
DEADLINE_INDEX = "pending_by_deadline"
RENEWAL_INDEX = "active_by_renewal"
REMINDER_RETENTION = timedelta(days=400)  # a marker outlives the window its reminder could be sent in
TOKEN_RETENTION_AFTER_EXPIRY = timedelta(days=180)  # an expired link keeps answering 410, not 404, for a while
SENT_MAIL_RETENTION = timedelta(days=400)  # the record of a sent email (who, what kind, when) outlives a renewal term
BAD_CURSOR = "The cursor is not valid. Start again without a cursor."

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def dump(item: Item) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items()}


def load(item: dict[str, Any]) -> Item:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: a whole one becomes the int it was written as; any other keeps its
    Decimal (never truncated). Records write amounts and rates as decimal strings, so only counts are numbers."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return value


# -- partitions and keys ---------------------------------------------------------------------------------------------
def shard_of(identifier: str) -> int:
    return int.from_bytes(hashlib.sha256(identifier.encode()).digest()[:4], "big") % INDEX_SHARDS


def sharded(partition: str, identifier: str) -> str:
    """The sparse-index partition key of the item identified by `identifier`."""
    return f"{partition}#{shard_of(identifier)}"


def shards(partition: str) -> tuple[str, ...]:
    """Every partition key value of one sparse index that the jobs read: the shards, then the unsharded value that
    entries written before the shards carry (a table from an earlier release: read until none is left, never
    written)."""
    return (*(f"{partition}#{n}" for n in range(INDEX_SHARDS)), partition)


INDEX_PARTITIONS = INDEX_SHARDS + 1  # len(shards(...))


def subscription_partition(subscription_id: str) -> str:
    return f"SUB#{subscription_id}"


def subscription_id_of(partition: str) -> str:
    return partition.removeprefix("SUB#")


def person_partition(email_key: str) -> str:
    return f"PERSON#{email_key}"


def customer_partition(country: str, customer_id: str) -> str:
    return f"CUSTOMER#{country}#{customer_id}"


def subscription_key(subscription_id: str) -> Key:
    return {"PK": subscription_partition(subscription_id), "SK": SUBSCRIPTION_SK}


def access_key(subscription_id: str, email_key: str) -> Key:
    return {"PK": subscription_partition(subscription_id), "SK": ACCESS_PREFIX + email_key}


def seat_key(subscription_id: str, email_key: str) -> Key:
    return {"PK": subscription_partition(subscription_id), "SK": SEAT_PREFIX + email_key}


def contact_key(country: str, customer_id: str, email_key: str) -> Key:
    return {"PK": customer_partition(country, customer_id), "SK": CONTACT_PREFIX + email_key}


def order_key(order_id: str) -> Key:
    return {"PK": f"ORDER#{order_id}", "SK": "ORDER"}


def token_key(token_hash: str) -> Key:
    return {"PK": f"TOKEN#{token_hash}", "SK": "TOKEN"}


def mail_key(mail_id: str) -> Key:
    return {"PK": f"MAIL#{mail_id}", "SK": "MAIL"}


def mail_notice_key(subscription_id: str, notice_id: str) -> Key:
    digest = hashlib.sha256(notice_id.encode()).hexdigest()
    return {"PK": subscription_partition(subscription_id), "SK": f"MAILNOTICE#{digest}"}


def mail_notice_item(subscription_id: str, notice_id: str, retain_until: datetime) -> Item:
    key = mail_notice_key(subscription_id, notice_id)
    return {**key, "type": "mail_notice", "expires_at_epoch": epoch(retain_until)}


def idempotency_key(scope: str) -> Key:
    return {"PK": "IDEMPOTENCY#" + hashlib.sha256(scope.encode()).hexdigest(), "SK": "IDEMPOTENCY"}


def access_index_key(subscription_id: str, email_key: str, sort_key: str) -> dict[str, str]:
    """The person index's ExclusiveStartKey around the caller's own partition."""
    return {**access_key(subscription_id, email_key), "GSI1PK": person_partition(email_key), "GSI1SK": sort_key}


def access_sort_key(subscription: Subscription) -> str:
    return f"{subscription.country}#{utc_iso(subscription.ordered_at)}#{subscription.id}"


def is_subscription(item: Item) -> bool:
    return bool(item["SK"] == SUBSCRIPTION_SK)


# -- codecs ----------------------------------------------------------------------------------------------------------
def subscription_item(subscription: Subscription) -> Item:
    item: Item = to_record(subscription)
    item.update(
        subscription_key(subscription.id),
        type="subscription",
        deadline_at=utc_iso(subscription.activation_deadline),
        admin_key=subscription.admin.key,
    )
    if subscription.status is SubscriptionStatus.PENDING_ACTIVATION:
        deadline_key = f"{utc_iso(subscription.activation_deadline)}#{subscription.id}"
        item.update(DLPK=sharded(PENDING_PARTITION, subscription.id), DLSK=deadline_key)
    if subscription.status is SubscriptionStatus.ACTIVE and subscription.next_renewal_date:
        renewal_key = renewal_sort_key(subscription.next_renewal_date, subscription.id)
        item.update(RNPK=sharded(ACTIVE_PARTITION, subscription.id), RNSK=renewal_key)
    return item


def renewal_sort_key(next_renewal_date: date, subscription_id: str) -> str:
    return f"{next_renewal_date.isoformat()}#{subscription_id}"


def renewal_bound(day: date) -> str:
    """Sorts after every renewal key of `day` and before the next day's ('~' sorts after '#')."""
    return day.isoformat() + "~"


def deadline_bound(moment: datetime) -> str:
    """Sorts after every deadline key at `moment` and before any later one."""
    return utc_iso(moment) + "~"


def reminder_key(subscription_id: str, marker: str) -> Key:
    return {"PK": subscription_partition(subscription_id), "SK": f"REMINDER#{marker}"}


def reminder_item(subscription_id: str, marker: str, now: datetime) -> Item:
    return {
        **reminder_key(subscription_id, marker),
        "type": "reminder",
        "sent_at": utc_iso(now),
        "expires_at_epoch": epoch(now + REMINDER_RETENTION),
    }


def watermark_key(job: str, name: str) -> Key:
    return {"PK": f"JOB#{job}", "SK": f"WATERMARK#{name}"}


def subscription_from(item: Item) -> Subscription:
    return subscription_from_record(item)


def evidence_item(subscription: Subscription) -> Item:
    assert subscription.evidence is not None
    return {
        "PK": subscription_partition(subscription.id),
        "SK": "EVIDENCE#ACTIVATION",
        "type": "evidence",
        **to_record(subscription.evidence),
    }


def access_item(subscription: Subscription, email_key: str, roles: set[str]) -> Item:
    item: Item = {
        **access_key(subscription.id, email_key),
        "type": "access",
        "subscription_id": subscription.id,
        "country": subscription.country,
        "roles": roles,
        "GSI1PK": person_partition(email_key),
        "GSI1SK": access_sort_key(subscription),
    }
    if subscription.status is SubscriptionStatus.PENDING_ACTIVATION:
        item["visible_until"] = utc_iso(subscription.activation_deadline)
    return item


def access_entry_from(item: Item) -> AccessEntry:
    until = item.get("visible_until")
    return AccessEntry(
        subscription_id=item["subscription_id"],
        country=item["country"],
        visible_until=parse_utc(until) if until else None,
        roles=roles_from(item),
    )


def roles_from(item: Item | None) -> frozenset[str]:
    return frozenset((item or {}).get("roles") or ())


def email_key_of_access(item: Item) -> str:
    return str(item["SK"]).removeprefix(ACCESS_PREFIX)


def seat_item(subscription_id: str, seat: Seat) -> Item:
    return {
        **seat_key(subscription_id, normalize_email(seat.email)),
        "type": "seat",
        "email": seat.email,
        "name": seat.name,
        "assigned_at": utc_iso(seat.assigned_at),
    }


def seat_from(item: Item) -> Seat:
    return Seat(email=item["email"], name=item["name"], assigned_at=parse_utc(item["assigned_at"]))


def contact_item(subscription: Subscription, person: Person) -> Item:
    return {
        **contact_key(subscription.country, subscription.customer.id, person.key),
        "type": "contact",
        "email": person.email,
        "name": person.name,
    }


def contact_from(item: Item) -> Contact:
    return Contact(email=item["email"], name=item["name"])


def email_key_of_contact(item: Item) -> str:
    return str(item["SK"]).removeprefix(CONTACT_PREFIX)


def order_item(subscription: Subscription, fingerprint: str) -> Item:
    return {
        **order_key(subscription.order_id),
        "type": "order",
        "order_id": subscription.order_id,
        "subscription_id": subscription.id,
        "fingerprint": fingerprint,
        "state": "live",
    }


def order_tombstone_item(expired: ExpiredOrder, now: datetime, retain_until: datetime) -> Item:
    return {
        **order_key(expired.order_id),
        "type": "order",
        "order_id": expired.order_id,
        "subscription_id": expired.subscription_id,
        "state": "removed",
        "removed_at": utc_iso(now),
        "expires_at_epoch": epoch(retain_until),
    }


def order_from(item: Item) -> OrderRecord:
    return OrderRecord(item["order_id"], item["subscription_id"], removed=item.get("state") == "removed")


def expired_order_from(item: Item) -> ExpiredOrder:
    """From the deadline index, which projects the order id and the admin key (every subscription item has both)."""
    return ExpiredOrder(subscription_id_of(item["PK"]), item["order_id"], item["admin_key"])


def token_item(token: ActivationToken) -> Item:
    return {
        **token_key(token.token_hash),
        "type": "token",
        "subscription_id": token.subscription_id,
        "admin_email": token.admin_email,
        "expires_at": utc_iso(token.expires_at),
        "expires_at_epoch": epoch(token.expires_at + TOKEN_RETENTION_AFTER_EXPIRY),
    }


def token_from(token_hash: str, item: Item) -> ActivationToken:
    return ActivationToken(
        token_hash=token_hash,
        subscription_id=item["subscription_id"],
        admin_email=item["admin_email"],
        expires_at=parse_utc(item["expires_at"]),
    )


def event_item(event: AuditEvent, version: int) -> Item:
    """The event of the change that takes the subscription to `version`."""
    return {
        "PK": subscription_partition(event.subscription_id),
        "SK": f"{EVENT_PREFIX}v{version:012d}",  # 'v' sorts after the digits of the timestamp keys older items carry
        "type": "event",
        "at": utc_iso(event.at),
        "actor": event.actor,
        "action": event.action,
        "details": event.details,
    }


def event_from(subscription_id: str, item: Item) -> AuditEvent:
    return AuditEvent(
        subscription_id=subscription_id,
        at=parse_utc(item["at"]),
        actor=item["actor"],
        action=item["action"],
        details=plain(item.get("details") or {}),
    )


# -- cursors ---------------------------------------------------------------------------------------------------------
def encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"sk": sort_key}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, prefix: str) -> str:
    """Only a sort key inside the caller's own partition and prefix comes back: a forged cursor reads nothing else."""
    try:
        sort_key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["sk"]
    except (ValueError, KeyError, TypeError, RecursionError, binascii.Error):  # RecursionError: nested too deeply
        raise InvalidInput(BAD_CURSOR) from None
    if not isinstance(sort_key, str) or not sort_key.startswith(prefix) or len(sort_key) > 600:
        raise InvalidInput(BAD_CURSOR)
    return sort_key
