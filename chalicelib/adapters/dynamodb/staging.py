"""The use cases' unit of work on DynamoDB: what a use case staged becomes the operations of one TransactWriteItems
(labels as `WriteConflict.failed` names them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.adapters.dynamodb.unit_of_work import (
    ABSENT,
    PRESENT,
    Condition,
    Operation,
    delete,
    put,
    put_new,
    update,
)
from chalicelib.domain.access import AuditEvent, Seat
from chalicelib.domain.activation_links import ActivationToken
from chalicelib.domain.models import Person, Subscription, SubscriptionStatus, normalize_email, utc_iso
from chalicelib.domain.outbox import OutboxMessage

if TYPE_CHECKING:
    from chalicelib.domain.billing.document import Cause, Invoice


class DynamoUnitOfWork:
    def __init__(self, table: Table) -> None:
        self._work = table.unit_of_work()

    def save(self, before: Subscription, after: Subscription, event: AuditEvent) -> None:
        # A full put: `after` is the whole new state, and the version condition means nothing else changed it since
        # `before` was read. The seat and admin terms repeat what the version already implies, so that invariants 3
        # and 4 never rest on the use case's own check alone.
        terms = ["#s = :status"]
        names = {"#s": "status", "#v": "version"}
        values: dict[str, Any] = {":status": before.status.value, ":v": before.version}
        if after.seats_used > before.seats_used:
            terms.append("seats_used < license_quantity")
        elif after.seats_used < before.seats_used:
            terms.append("seats_used > :zero")
            values[":zero"] = 0
        if after.admin.key != before.admin.key:
            terms.append("#admin.#email = :old")
            names.update({"#admin": "admin", "#email": "email"})
            values[":old"] = before.admin.email
        if before.status is SubscriptionStatus.PENDING_ACTIVATION and after.activated_at is not None:
            terms.append("deadline_at > :activated")
            values[":activated"] = utc_iso(after.activated_at)
        condition = Condition(" AND ".join([*terms, "#v = :v"]), names, values)
        self._work.add(put("subscription", schema.subscription_item(after), condition))
        self._work.record(event, after.version)

    def queue(self, messages: Sequence[OutboxMessage]) -> None:
        self._work.queue(messages)

    def add_seat(self, subscription: Subscription, seat: Seat) -> None:
        key = normalize_email(seat.email)
        access = schema.access_item(subscription, key, set())
        self._work.add(
            put("seat", schema.seat_item(subscription.id, seat), ABSENT),
            # An update, not a put: the person may hold other roles (the admin taking a seat), not read here.
            update(
                "access",
                schema.access_key(subscription.id, key),
                "ADD #roles :seat "
                "SET #type = :type, subscription_id = :sid, country = :c, GSI1PK = :gpk, GSI1SK = :gsk",
                names={"#roles": "roles", "#type": "type"},
                values={
                    ":seat": {"seat"},
                    ":type": "access",
                    ":sid": subscription.id,
                    ":c": subscription.country,
                    ":gpk": access["GSI1PK"],
                    ":gsk": access["GSI1SK"],
                },
            ),
            put("contact", schema.contact_item(subscription, Person(email=seat.email, name=seat.name))),
        )

    def remove_seat(self, subscription: Subscription, email_key: str, roles: frozenset[str]) -> None:
        self._work.add(
            delete("seat", schema.seat_key(subscription.id, email_key), PRESENT),
            _drop_role(subscription.id, email_key, roles, "seat"),
        )

    def hand_over_admin(
        self, before: Subscription, after: Subscription, old_roles: frozenset[str], new_roles: frozenset[str]
    ) -> None:
        new_key = after.admin.key
        if new_roles:
            grant = update(
                "new_admin_access",
                schema.access_key(after.id, new_key),
                "ADD #roles :admin",
                _roles_unchanged(new_roles),
                values={":admin": {"admin"}},
            )
        else:
            grant = put("new_admin_access", schema.access_item(after, new_key, {"admin"}), ABSENT)
        self._work.add(
            _drop_role(before.id, before.admin.key, old_roles, "admin"),
            grant,
            put("contact", schema.contact_item(after, after.admin)),
        )
        if before.activation_token_hash:
            self._work.add(delete("old_token", schema.token_key(before.activation_token_hash)))

    def keep_acceptance(self, activated: Subscription) -> None:
        self._work.add(
            update("access", schema.access_key(activated.id, activated.admin.key), "REMOVE visible_until", PRESENT),
            put_new("evidence", schema.evidence_item(activated)),
        )

    def replace_link(self, before: Subscription, token: ActivationToken) -> None:
        self._work.add(put("token", schema.token_item(token), ABSENT))
        if before.activation_token_hash:
            self._work.add(delete("old_token", schema.token_key(before.activation_token_hash)))

    def issue(self, document: Invoice, cause: Cause, series: str, expected_last: int) -> None:
        from chalicelib.adapters.dynamodb.invoices import issue_operations  # billing's codecs: not on other writes

        self._work.add(*issue_operations(document, cause, series, expected_last))

    def correct(
        self, corrected: Invoice, credit_note: Invoice, replacement: Invoice, numbers: Sequence[tuple[str, int]]
    ) -> None:
        from chalicelib.adapters.dynamodb.invoices import correction_operations  # billing's codecs, as in `issue`

        self._work.add(*correction_operations(corrected, credit_note, replacement, numbers))

    def commit(self) -> None:
        self._work.commit()


def _roles_unchanged(roles: frozenset[str]) -> Condition:
    """Conditional on the roles read before, so a concurrent change of the same person retries instead of being lost."""
    return Condition("#roles = :roles", {"#roles": "roles"}, {":roles": set(roles)})


def _drop_role(subscription_id: str, email_key: str, roles: frozenset[str], role: str) -> Operation:
    """Removes one role from a person's access entry; the entry goes when no role is left."""
    key = schema.access_key(subscription_id, email_key)
    if roles == {role}:
        return delete("access", key, _roles_unchanged(roles))
    return update("access", key, "DELETE #roles :role", _roles_unchanged(roles), values={":role": {role}})
