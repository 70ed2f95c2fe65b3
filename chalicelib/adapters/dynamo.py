"""DynamoDB repository: one table (infra/resources.json), every request path by GetItem, Query or transactions.

Item layout (PK / SK):
  SUB#<id> / SUB                 the subscription; DLPK/DLSK while pending (sparse deadline index),
                                 RNPK/RNSK while active (sparse renewal index)
  SUB#<id> / ACCESS#<email>      who may see it: GSI1PK=PERSON#<email>, GSI1SK=<country>#<ordered_at>#<id>
  SUB#<id> / SEAT#<email>        a seat (later issues)
  SUB#<id> / EVIDENCE#ACTIVATION immutable acceptance record
  SUB#<id> / EVENT#v<version>    audit events, newest first by SK: keyed by the version their change committed
  ORDER#<order_id> / ORDER       order id -> subscription, and the tombstone once removed
  TOKEN#<sha256> / TOKEN         activation token: subscription, admin, expiry
  MAIL#<id> / MAIL               outbox entry; OBPK/OBSK while unsent (sparse, keyed by due time)
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.domain.errors import DuplicateOrder, InvalidInput, WriteConflict
from chalicelib.domain.models import Person, Subscription, SubscriptionStatus, normalize_email, parse_utc, utc_iso
from chalicelib.services.ports import (
    AccessEntry,
    ActivationToken,
    AuditEvent,
    Contact,
    ExpiredEntry,
    OrderRecord,
    OutgoingEmail,
    Page,
    Seat,
    SubscriptionChange,
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

PENDING_PARTITION = "PENDING"
ACTIVE_PARTITION = "ACTIVE"
UNSENT_PARTITION = "UNSENT"
TOKEN_RETENTION_AFTER_EXPIRY = timedelta(days=180)  # an expired link keeps answering 410, not 404, for a while
SENT_MAIL_RETENTION = timedelta(days=400)  # the record of a sent email (who, what kind, when) outlives a renewal term
BAD_CURSOR = "The cursor is not valid. Start again without a cursor."


def _dump(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items()}


def _load(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def _sub_key(subscription_id: str) -> dict[str, Any]:
    return {"PK": {"S": f"SUB#{subscription_id}"}, "SK": {"S": "SUB"}}


def _access_key(subscription_id: str, email_key: str) -> dict[str, Any]:
    return {"PK": {"S": f"SUB#{subscription_id}"}, "SK": {"S": f"ACCESS#{email_key}"}}


def _mail_key(mail_id: str) -> dict[str, Any]:
    return {"PK": {"S": f"MAIL#{mail_id}"}, "SK": {"S": "MAIL"}}


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def subscription_item(subscription: Subscription) -> dict[str, Any]:
    item: dict[str, Any] = subscription.model_dump(mode="json")
    item.update(
        PK=f"SUB#{subscription.id}",
        SK="SUB",
        type="subscription",
        deadline_at=utc_iso(subscription.activation_deadline),
        admin_key=subscription.admin.key,
    )
    if subscription.status is SubscriptionStatus.PENDING_ACTIVATION:
        item.update(DLPK=PENDING_PARTITION, DLSK=f"{utc_iso(subscription.activation_deadline)}#{subscription.id}")
    if subscription.status is SubscriptionStatus.ACTIVE and subscription.next_renewal_date:
        item.update(RNPK=ACTIVE_PARTITION, RNSK=f"{subscription.next_renewal_date.isoformat()}#{subscription.id}")
    return item


def subscription_from_item(item: dict[str, Any]) -> Subscription:
    return Subscription.model_validate(_load(item))


def _mail_item(email: OutgoingEmail) -> dict[str, Any]:
    return {
        "PK": f"MAIL#{email.mail_id}",
        "SK": "MAIL",
        "type": "mail",
        "mail_id": email.mail_id,
        "kind": email.kind,
        "to": email.to,
        "locale": email.locale,
        "country": email.country,
        "params": email.params,
        "due_at": utc_iso(email.due_at),
        "attempts": email.attempts,
        "status": "queued",
        "OBPK": UNSENT_PARTITION,
        "OBSK": _due_key(email),
    }


def _due_key(email: OutgoingEmail) -> str:
    return f"{utc_iso(email.due_at)}#{email.mail_id}"


def _mail_from_item(item: dict[str, Any]) -> OutgoingEmail:
    data = _load(item)
    return OutgoingEmail(
        mail_id=data["mail_id"],
        kind=data["kind"],
        to=data["to"],
        locale=data["locale"],
        country=data["country"],
        params=_plain(data.get("params") or {}),
        due_at=parse_utc(data["due_at"]),
        attempts=int(data.get("attempts", 0)),
    )


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the outbox params only ever hold whole numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "as_integer_ratio") and not isinstance(value, (bool, int)):
        return int(value)
    return value


def _cancellation_codes(error: ClientError) -> list[str]:
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


def _is_conflict(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        return any(c in ("ConditionalCheckFailed", "TransactionConflict") for c in _cancellation_codes(error))
    return False


class DynamoPortalRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # -- writes ---------------------------------------------------------------------------------------------------
    def _transact(self, items: list[dict[str, Any]]) -> None:
        for entry in items:
            next(iter(entry.values()))["TableName"] = self._table
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if _is_conflict(error):
                raise WriteConflict(str(_cancellation_codes(error))) from None
            raise

    def create_pending(
        self, subscription: Subscription, token: ActivationToken, email: OutgoingEmail, order_fingerprint: str
    ) -> None:
        try:
            self._transact(
                [
                    {
                        "Put": {
                            "Item": _dump(
                                {
                                    "PK": f"ORDER#{subscription.order_id}",
                                    "SK": "ORDER",
                                    "type": "order",
                                    "order_id": subscription.order_id,
                                    "subscription_id": subscription.id,
                                    "fingerprint": order_fingerprint,
                                    "state": "live",
                                }
                            ),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {
                        "Put": {
                            "Item": _dump(subscription_item(subscription)),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {"Put": {"Item": _dump(self._access_item(subscription, subscription.admin.key, {"admin"}))}},
                    {"Put": {"Item": _dump(_contact_item(subscription, subscription.admin))}},
                    {"Put": {"Item": _dump(_token_item(token)), "ConditionExpression": "attribute_not_exists(PK)"}},
                    {"Put": {"Item": _dump(_mail_item(email)), "ConditionExpression": "attribute_not_exists(PK)"}},
                ]
            )
        except WriteConflict:
            raise DuplicateOrder(subscription.order_id) from None

    @staticmethod
    def _access_item(subscription: Subscription, email_key: str, roles: set[str]) -> dict[str, Any]:
        item: dict[str, Any] = {
            "PK": f"SUB#{subscription.id}",
            "SK": f"ACCESS#{email_key}",
            "type": "access",
            "subscription_id": subscription.id,
            "country": subscription.country,
            "roles": roles,
            "GSI1PK": f"PERSON#{email_key}",
            "GSI1SK": f"{subscription.country}#{utc_iso(subscription.ordered_at)}#{subscription.id}",
        }
        if subscription.status is SubscriptionStatus.PENDING_ACTIVATION:
            item["visible_until"] = utc_iso(subscription.activation_deadline)
        return item

    def activate(
        self, before: Subscription, after: Subscription, email: OutgoingEmail, event: AuditEvent, now: datetime
    ) -> None:
        assert after.evidence is not None
        self._transact(
            [
                {
                    "Put": {
                        "Item": _dump(subscription_item(after)),
                        "ConditionExpression": "#v = :v AND #s = :pending AND deadline_at > :now",
                        "ExpressionAttributeNames": {"#v": "version", "#s": "status"},
                        "ExpressionAttributeValues": _dump(
                            {
                                ":v": before.version,
                                ":pending": SubscriptionStatus.PENDING_ACTIVATION.value,
                                ":now": utc_iso(now),
                            }
                        ),
                    }
                },
                {
                    "Update": {
                        "Key": _access_key(after.id, after.admin.key),
                        "UpdateExpression": "REMOVE visible_until",
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
                {
                    "Put": {
                        "Item": _dump(
                            {
                                "PK": f"SUB#{after.id}",
                                "SK": "EVIDENCE#ACTIVATION",
                                "type": "evidence",
                                **after.evidence.model_dump(mode="json"),
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                _event_put(event, after.version),
                {"Put": {"Item": _dump(_mail_item(email)), "ConditionExpression": "attribute_not_exists(PK)"}},
            ]
        )

    def rotate_token(
        self, before: Subscription, after: Subscription, token: ActivationToken, email: OutgoingEmail
    ) -> None:
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "Item": _dump(subscription_item(after)),
                    "ConditionExpression": "#v = :v AND #s = :pending",
                    "ExpressionAttributeNames": {"#v": "version", "#s": "status"},
                    "ExpressionAttributeValues": _dump(
                        {":v": before.version, ":pending": SubscriptionStatus.PENDING_ACTIVATION.value}
                    ),
                }
            },
            {"Put": {"Item": _dump(_token_item(token)), "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Put": {"Item": _dump(_mail_item(email)), "ConditionExpression": "attribute_not_exists(PK)"}},
        ]
        if before.activation_token_hash:
            items.append(
                {"Delete": {"Key": {"PK": {"S": f"TOKEN#{before.activation_token_hash}"}, "SK": {"S": "TOKEN"}}}}
            )
        self._transact(items)

    def remove_expired(self, expired: ExpiredEntry, now: datetime, tombstone_ttl: datetime) -> bool:
        """One transaction: the subscription (only if still pending and past its deadline), its admin's access entry
        (a pending subscription has no other items), and the order's tombstone."""
        items: list[dict[str, Any]] = [
            {
                "Delete": {
                    "Key": _sub_key(expired.subscription_id),
                    "ConditionExpression": "#s = :pending AND deadline_at <= :now",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": _dump(
                        {":pending": SubscriptionStatus.PENDING_ACTIVATION.value, ":now": utc_iso(now)}
                    ),
                }
            },
            {"Delete": {"Key": _access_key(expired.subscription_id, expired.admin_key)}},
            {
                "Put": {
                    "Item": _dump(
                        {
                            "PK": f"ORDER#{expired.order_id}",
                            "SK": "ORDER",
                            "type": "order",
                            "order_id": expired.order_id,
                            "subscription_id": expired.subscription_id,
                            "state": "removed",
                            "removed_at": utc_iso(now),
                            "expires_at_epoch": _epoch(tombstone_ttl),
                        }
                    )
                }
            },
        ]
        try:
            self._transact(items)
        except WriteConflict:
            return False
        return True

    # -- reads ----------------------------------------------------------------------------------------------------
    def get_order(self, order_id: str) -> OrderRecord | None:
        item = self._get({"PK": {"S": f"ORDER#{order_id}"}, "SK": {"S": "ORDER"}})
        if item is None:
            return None
        data = _load(item)
        return OrderRecord(data["order_id"], data["subscription_id"], removed=data.get("state") == "removed")

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        item = self._get(_sub_key(subscription_id))
        return subscription_from_item(item) if item else None

    def get_subscription_and_seat(self, subscription_id: str, email: str) -> tuple[Subscription | None, bool]:
        items = self._batch_get([_sub_key(subscription_id), _access_key(subscription_id, email)])
        subscription = next((subscription_from_item(i) for i in items if i["SK"]["S"] == "SUB"), None)
        access = next((_load(i) for i in items if i["SK"]["S"].startswith("ACCESS#")), None)
        return subscription, bool(access and "seat" in access.get("roles", set()))

    def get_token(self, token_hash: str) -> ActivationToken | None:
        item = self._get({"PK": {"S": f"TOKEN#{token_hash}"}, "SK": {"S": "TOKEN"}})
        if item is None:
            return None
        data = _load(item)
        return ActivationToken(
            token_hash=token_hash,
            subscription_id=data["subscription_id"],
            admin_email=data["admin_email"],
            expires_at=parse_utc(data["expires_at"]),
        )

    def list_access(self, email: str, country: str, limit: int, cursor: str | None) -> Page:
        partition = f"PERSON#{email}"
        kwargs: dict[str, Any] = {
            "IndexName": "by_person",
            "KeyConditionExpression": "GSI1PK = :pk AND begins_with(GSI1SK, :country)",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":country": {"S": f"{country}#"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            # Rebuilt around the caller's own partition: a forged cursor can never read someone else's items. The
            # subscription id is the sort key's last part (<country>#<ordered_at>#<id>).
            sort_key = _decode_cursor(cursor, f"{country}#")
            kwargs["ExclusiveStartKey"] = {
                "GSI1PK": {"S": partition},
                "GSI1SK": {"S": sort_key},
                "PK": {"S": f"SUB#{sort_key.rsplit('#', 1)[-1]}"},
                "SK": {"S": f"ACCESS#{email}"},
            }
        response = self._client.query(TableName=self._table, **kwargs)
        entries = [_access_entry(_load(i)) for i in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return Page(entries=entries, next_cursor=_encode_cursor(last["GSI1SK"]["S"]) if last else None)

    def countries_of(self, email: str, now: datetime) -> list[str]:
        response = self._client.query(
            TableName=self._table,
            IndexName="by_person",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"PERSON#{email}"}},
            ProjectionExpression="country, visible_until",
            Limit=100,
        )
        now_iso = utc_iso(now)
        countries = {
            i["country"]["S"]
            for i in response.get("Items", [])
            if "visible_until" not in i or now_iso < i["visible_until"]["S"]
        }
        return sorted(countries)

    def subscriptions_with_roles(self, ids: list[str], email: str) -> list[tuple[Subscription, frozenset[str]]]:
        """Each subscription with the person's roles on it, both read consistently in one call: the person index
        behind a list is eventually consistent, so it only nominates; these items decide."""
        keys = [k for i in ids for k in (_sub_key(i), _access_key(i, email))]
        items = self._batch_get(keys)
        subscriptions = {i["PK"]["S"]: subscription_from_item(i) for i in items if i["SK"]["S"] == "SUB"}
        roles = {i["PK"]["S"]: frozenset(_load(i).get("roles") or ()) for i in items if i["SK"]["S"] != "SUB"}
        return [(s, roles.get(pk, frozenset())) for pk, s in subscriptions.items()]

    def expired_pending(self, now: datetime, limit: int, start: str | None) -> tuple[list[ExpiredEntry], str | None]:
        """Reads only expired entries; the index projects what the removal needs, so nothing else is read."""
        kwargs: dict[str, Any] = {
            "IndexName": "pending_by_deadline",
            "KeyConditionExpression": "DLPK = :pk AND DLSK < :bound",
            # '~' sorts after '#', so a deadline equal to now counts as passed.
            "ExpressionAttributeValues": {":pk": {"S": PENDING_PARTITION}, ":bound": {"S": utc_iso(now) + "~"}},
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = json.loads(start)
        response = self._client.query(TableName=self._table, **kwargs)
        entries = [self._expired_entry(i) for i in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return entries, json.dumps(last) if last else None

    def _expired_entry(self, item: dict[str, Any]) -> ExpiredEntry:
        subscription_id = item["PK"]["S"][4:]
        if "admin_key" in item and "order_id" in item:
            return ExpiredEntry(subscription_id, item["order_id"]["S"], item["admin_key"]["S"])
        stored = self.get_subscription(subscription_id)  # an item written before the index projected these
        if stored is None:
            return ExpiredEntry(subscription_id, item.get("order_id", {}).get("S", ""), "")
        return ExpiredEntry(subscription_id, stored.order_id, stored.admin.key)

    # -- outbox ---------------------------------------------------------------------------------------------------
    def due_emails(self, now: datetime, limit: int) -> list[OutgoingEmail]:
        response = self._client.query(
            TableName=self._table,
            IndexName="unsent_emails",
            KeyConditionExpression="OBPK = :pk AND OBSK < :bound",
            ExpressionAttributeValues={":pk": {"S": UNSENT_PARTITION}, ":bound": {"S": utc_iso(now) + "~"}},
            Limit=limit,
        )
        return [_mail_from_item(i) for i in response.get("Items", [])]

    def claim_email(self, email: OutgoingEmail, lease_until: datetime) -> OutgoingEmail | None:
        claimed = OutgoingEmail(**{**email.__dict__, "due_at": lease_until})
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_mail_key(email.mail_id),
                UpdateExpression="SET OBSK = :lease, due_at = :due",
                ConditionExpression="OBSK = :expected",
                ExpressionAttributeValues=_dump(
                    {":lease": _due_key(claimed), ":due": utc_iso(lease_until), ":expected": _due_key(email)}
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _is_conflict(error):
                return None
            raise
        return _mail_from_item(response["Attributes"])

    def mark_sent(self, email: OutgoingEmail, provider_id: str, now: datetime) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_mail_key(email.mail_id),
                UpdateExpression="SET #s = :sent, sent_at = :now, provider_message_id = :pid, expires_at_epoch = :ttl "
                "REMOVE OBPK, OBSK",
                ConditionExpression="OBSK = :expected",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=_dump(
                    {
                        ":sent": "sent",
                        ":now": utc_iso(now),
                        ":pid": provider_id,
                        ":ttl": _epoch(now + SENT_MAIL_RETENTION),
                        ":expected": _due_key(email),
                    }
                ),
            )
        except ClientError as error:
            if _is_conflict(error):
                return False
            raise
        return True

    def mark_failed(self, email: OutgoingEmail, error: str, retry_at: datetime) -> None:
        retry = OutgoingEmail(**{**email.__dict__, "due_at": retry_at})
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_mail_key(email.mail_id),
                UpdateExpression="SET OBSK = :retry, due_at = :due, last_error = :err ADD attempts :one",
                ConditionExpression="OBSK = :expected",
                ExpressionAttributeValues=_dump(
                    {
                        ":retry": _due_key(retry),
                        ":due": utc_iso(retry_at),
                        ":err": error,
                        ":one": 1,
                        ":expected": _due_key(email),
                    }
                ),
            )
        except ClientError as err:
            if not _is_conflict(err):
                raise

    # -- administration -------------------------------------------------------------------------------------------
    def get_roles(self, subscription_id: str, emails: list[str]) -> dict[str, frozenset[str]]:
        if not emails:
            return {}
        keys = [_access_key(subscription_id, e) for e in dict.fromkeys(emails)]
        found = {
            _load(i)["SK"][len("ACCESS#") :]: frozenset(_load(i).get("roles") or ()) for i in self._batch_get(keys)
        }
        return {e: found.get(e, frozenset()) for e in emails}

    def get_seat(self, subscription_id: str, email_key: str) -> Seat | None:
        item = self._get({"PK": {"S": f"SUB#{subscription_id}"}, "SK": {"S": f"SEAT#{email_key}"}})
        return _seat_from(_load(item)) if item else None

    def assign_seat(self, subscription: Subscription, seat: Seat, email: OutgoingEmail, event: AuditEvent) -> None:
        key = normalize_email(seat.email)
        access = self._access_item(subscription, key, set())
        self._transact(
            [
                {
                    "Update": {
                        "Key": _sub_key(subscription.id),
                        "UpdateExpression": "SET seats_used = seats_used + :one, version = version + :one",
                        "ConditionExpression": "#s = :active AND seats_used < license_quantity AND #v = :v",
                        "ExpressionAttributeNames": {"#s": "status", "#v": "version"},
                        "ExpressionAttributeValues": _dump(
                            {":one": 1, ":active": SubscriptionStatus.ACTIVE.value, ":v": subscription.version}
                        ),
                    }
                },
                {
                    "Put": {
                        "Item": _dump(_seat_item(subscription.id, seat)),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Update": {
                        "Key": _access_key(subscription.id, key),
                        "UpdateExpression": "ADD #roles :seat SET #type = :type, subscription_id = :sid, country = :c, "
                        "GSI1PK = :gpk, GSI1SK = :gsk",
                        "ExpressionAttributeNames": {"#roles": "roles", "#type": "type"},
                        "ExpressionAttributeValues": _dump(
                            {
                                ":seat": {"seat"},
                                ":type": "access",
                                ":sid": subscription.id,
                                ":c": subscription.country,
                                ":gpk": access["GSI1PK"],
                                ":gsk": access["GSI1SK"],
                            }
                        ),
                    }
                },
                {"Put": {"Item": _dump(_contact_item(subscription, Person(email=seat.email, name=seat.name)))}},
                _event_put(event, subscription.version + 1),
                {"Put": {"Item": _dump(_mail_item(email)), "ConditionExpression": "attribute_not_exists(PK)"}},
            ]
        )

    def remove_seat(
        self, subscription: Subscription, email_key: str, roles: frozenset[str], email: OutgoingEmail, event: AuditEvent
    ) -> None:
        self._transact(
            [
                {
                    "Update": {
                        "Key": _sub_key(subscription.id),
                        "UpdateExpression": "SET seats_used = seats_used - :one, version = version + :one",
                        "ConditionExpression": "#s = :active AND seats_used > :zero AND #v = :v",
                        "ExpressionAttributeNames": {"#s": "status", "#v": "version"},
                        "ExpressionAttributeValues": _dump(
                            {
                                ":one": 1,
                                ":zero": 0,
                                ":active": SubscriptionStatus.ACTIVE.value,
                                ":v": subscription.version,
                            }
                        ),
                    }
                },
                {
                    "Delete": {
                        "Key": {"PK": {"S": f"SUB#{subscription.id}"}, "SK": {"S": f"SEAT#{email_key}"}},
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
                self._drop_role(subscription.id, email_key, roles, "seat"),
                _event_put(event, subscription.version + 1),
                {"Put": {"Item": _dump(_mail_item(email)), "ConditionExpression": "attribute_not_exists(PK)"}},
            ]
        )

    def _drop_role(self, subscription_id: str, email_key: str, roles: frozenset[str], role: str) -> dict[str, Any]:
        """Removes one role from a person's access entry; the entry goes when no role is left. Conditional on the
        roles read before, so a concurrent change of the same person retries instead of being lost."""
        if roles == {role}:
            return {
                "Delete": {
                    "Key": _access_key(subscription_id, email_key),
                    "ConditionExpression": "#roles = :roles",
                    "ExpressionAttributeNames": {"#roles": "roles"},
                    "ExpressionAttributeValues": _dump({":roles": set(roles)}),
                }
            }
        return {
            "Update": {
                "Key": _access_key(subscription_id, email_key),
                "UpdateExpression": "DELETE #roles :role",
                "ConditionExpression": "#roles = :roles",
                "ExpressionAttributeNames": {"#roles": "roles"},
                "ExpressionAttributeValues": _dump({":roles": set(roles), ":role": {role}}),
            }
        }

    def transfer_admin(
        self,
        before: Subscription,
        after: Subscription,
        old_roles: frozenset[str],
        new_roles: frozenset[str],
        emails: list[OutgoingEmail],
        event: AuditEvent,
    ) -> None:
        new_key = after.admin.key
        if new_roles:
            grant: dict[str, Any] = {
                "Update": {
                    "Key": _access_key(after.id, new_key),
                    "UpdateExpression": "ADD #roles :admin",
                    "ConditionExpression": "#roles = :roles",
                    "ExpressionAttributeNames": {"#roles": "roles"},
                    "ExpressionAttributeValues": _dump({":roles": set(new_roles), ":admin": {"admin"}}),
                }
            }
        else:
            grant = {
                "Put": {
                    "Item": _dump(self._access_item(after, new_key, {"admin"})),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "Key": _sub_key(before.id),
                    "UpdateExpression": "SET #admin = :admin, admin_key = :key, version = version + :one",
                    "ConditionExpression": "#s = :active AND #admin.#email = :old AND #v = :v",
                    "ExpressionAttributeNames": {"#s": "status", "#admin": "admin", "#email": "email", "#v": "version"},
                    "ExpressionAttributeValues": _dump(
                        {
                            ":v": before.version,
                            ":admin": after.admin.model_dump(mode="json"),
                            ":key": after.admin.key,
                            ":one": 1,
                            ":active": SubscriptionStatus.ACTIVE.value,
                            ":old": before.admin.email,
                        }
                    ),
                }
            },
            self._drop_role(before.id, before.admin.key, old_roles, "admin"),
            grant,
            {"Put": {"Item": _dump(_contact_item(after, after.admin))}},
            _event_put(event, before.version + 1),
        ]
        if before.activation_token_hash:
            items.append(
                {"Delete": {"Key": {"PK": {"S": f"TOKEN#{before.activation_token_hash}"}, "SK": {"S": "TOKEN"}}}}
            )
        items += [
            {"Put": {"Item": _dump(_mail_item(m)), "ConditionExpression": "attribute_not_exists(PK)"}} for m in emails
        ]
        self._transact(items)

    def change_subscription(
        self, before: Subscription, change: SubscriptionChange, emails: list[OutgoingEmail], event: AuditEvent
    ) -> Subscription:
        names = {"#s": "status", "#v": "version"}
        values: dict[str, Any] = {":one": 1, ":active": SubscriptionStatus.ACTIVE.value}
        sets = ["#v = #v + :one"]
        for n, (name, value) in enumerate(change.fields.items()):
            names[f"#f{n}"] = name
            values[f":f{n}"] = value
            sets.append(f"#f{n} = :f{n}")
        values[":v"] = before.version
        conditions = ["#s = :active", "#v = :v"]
        if change.expected_version is not None:
            values[":expected"] = change.expected_version
            conditions.append("#v = :expected")
        for n, (name, value) in enumerate(change.require.items()):
            names[f"#r{n}"] = name
            values[f":r{n}"] = value
            conditions.append(f"#r{n} = :r{n}")
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "Key": _sub_key(before.id),
                    "UpdateExpression": "SET " + ", ".join(sets),
                    "ConditionExpression": " AND ".join(conditions),
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": _dump(values),
                }
            },
            _event_put(event, before.version + 1),
        ]
        items += [
            {"Put": {"Item": _dump(_mail_item(m)), "ConditionExpression": "attribute_not_exists(PK)"}} for m in emails
        ]
        self._transact(items)
        after = self.get_subscription(before.id)
        assert after is not None
        return after

    def list_seats(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[Seat], str | None]:
        items, next_sk = self._page(f"SUB#{subscription_id}", "SEAT#", limit, cursor, forward=True)
        return [_seat_from(i) for i in items], next_sk

    def history(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[AuditEvent], str | None]:
        items, next_sk = self._page(f"SUB#{subscription_id}", "EVENT#", limit, cursor, forward=False)
        events = [
            AuditEvent(
                subscription_id=subscription_id,
                at=parse_utc(i["at"]),
                actor=i["actor"],
                action=i["action"],
                details=_plain(i.get("details") or {}),
            )
            for i in items
        ]
        return events, next_sk

    def contacts_page(
        self, country: str, customer_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Contact], str | None]:
        items, next_sk = self._page(f"CUSTOMER#{country}#{customer_id}", "CONTACT#", limit, cursor, forward=True)
        return [Contact(email=i["email"], name=i["name"]) for i in items], next_sk

    def contacts_named(self, country: str, customer_id: str, emails: list[str]) -> set[str]:
        """Which of these people (normalized emails) are known contacts of the customer."""
        if not emails:
            return set()
        partition = {"S": f"CUSTOMER#{country}#{customer_id}"}
        keys = [{"PK": partition, "SK": {"S": f"CONTACT#{normalize_email(e)}"}} for e in dict.fromkeys(emails)]
        return {i["SK"]["S"][len("CONTACT#") :] for i in self._batch_get(keys)}

    def _page(
        self, partition: str, prefix: str, limit: int, cursor: str | None, forward: bool
    ) -> tuple[list[dict[str, Any]], str | None]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":prefix": {"S": prefix}},
            "ScanIndexForward": forward,
            "Limit": limit,
            "ConsistentRead": True,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = {"PK": {"S": partition}, "SK": {"S": _decode_cursor(cursor, prefix)}}
        response = self._client.query(TableName=self._table, **kwargs)
        last = response.get("LastEvaluatedKey")
        return [_load(i) for i in response.get("Items", [])], _encode_cursor(last["SK"]["S"]) if last else None

    # -- helpers --------------------------------------------------------------------------------------------------
    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get(
            "Item"
        )
        return item

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        pending: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        for _ in range(8):
            response = self._client.batch_get_item(RequestItems=pending)
            found += response.get("Responses", {}).get(self._table, [])
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                return found
        raise RuntimeError("DynamoDB kept keys unprocessed after 8 attempts")


def _seat_from(data: dict[str, Any]) -> Seat:
    return Seat(email=data["email"], name=data["name"], assigned_at=parse_utc(data["assigned_at"]))


def _token_item(token: ActivationToken) -> dict[str, Any]:
    return {
        "PK": f"TOKEN#{token.token_hash}",
        "SK": "TOKEN",
        "type": "token",
        "subscription_id": token.subscription_id,
        "admin_email": token.admin_email,
        "expires_at": utc_iso(token.expires_at),
        "expires_at_epoch": _epoch(token.expires_at + TOKEN_RETENTION_AFTER_EXPIRY),
    }


def _event_put(event: AuditEvent, version: int) -> dict[str, Any]:
    """The event of the change that takes the subscription to `version`. Its transaction also requires the version
    it started from, so the event's place in the history is the commit order itself (a clock read before the write
    could order two racing changes the other way), and no two events can ever claim the same place."""
    return {"Put": {"Item": _dump(_event_item(event, version)), "ConditionExpression": "attribute_not_exists(PK)"}}


def _event_item(event: AuditEvent, version: int) -> dict[str, Any]:
    return {
        "PK": f"SUB#{event.subscription_id}",
        "SK": f"EVENT#v{version:012d}",  # 'v' sorts after the digits of the timestamp keys older items may carry
        "type": "event",
        "at": utc_iso(event.at),
        "actor": event.actor,
        "action": event.action,
        "details": event.details,
    }


def _access_entry(data: dict[str, Any]) -> AccessEntry:
    until = data.get("visible_until")
    return AccessEntry(
        subscription_id=data["subscription_id"],
        country=data["country"],
        visible_until=parse_utc(until) if until else None,
        roles=frozenset(data.get("roles") or ()),
    )


def _contact_item(subscription: Subscription, person: Person) -> dict[str, Any]:
    return {
        "PK": f"CUSTOMER#{subscription.country}#{subscription.customer.id}",
        "SK": f"CONTACT#{person.key}",
        "type": "contact",
        "email": person.email,
        "name": person.name,
    }


def _seat_item(subscription_id: str, seat: Seat) -> dict[str, Any]:
    return {
        "PK": f"SUB#{subscription_id}",
        "SK": f"SEAT#{normalize_email(seat.email)}",
        "type": "seat",
        "email": seat.email,
        "name": seat.name,
        "assigned_at": utc_iso(seat.assigned_at),
    }


def _encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"sk": sort_key}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, prefix: str) -> str:
    """Only a sort key inside the caller's own partition and prefix comes back: a forged cursor reads nothing else."""
    try:
        sort_key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["sk"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidInput(BAD_CURSOR) from None
    if not isinstance(sort_key, str) or not sort_key.startswith(prefix) or len(sort_key) > 600:
        raise InvalidInput(BAD_CURSOR)
    return sort_key
