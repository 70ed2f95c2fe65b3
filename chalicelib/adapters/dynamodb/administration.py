"""Seats, the customer's contacts, the admin transfer and the history of an active subscription."""

from __future__ import annotations

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.adapters.dynamodb.unit_of_work import ABSENT, PRESENT, Condition, Operation, delete, put, update
from chalicelib.domain.access import AuditEvent, Contact, Seat
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import Person, Subscription, SubscriptionStatus, normalize_email, to_record

_ACTIVE = SubscriptionStatus.ACTIVE.value


class DynamoAdministrationStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get_roles(self, subscription_id: str, emails: list[str]) -> dict[str, frozenset[str]]:
        if not emails:
            return {}
        keys = [schema.access_key(subscription_id, e) for e in dict.fromkeys(emails)]
        found = {schema.email_key_of_access(i): schema.roles_from(i) for i in self._table.batch_get(keys)}
        return {e: found.get(e, frozenset()) for e in emails}

    def get_seat(self, subscription_id: str, email_key: str) -> Seat | None:
        item = self._table.get(schema.seat_key(subscription_id, email_key))
        return schema.seat_from(item) if item else None

    def list_seats(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[Seat], str | None]:
        partition = schema.subscription_partition(subscription_id)
        items, next_cursor = self._table.page(partition, schema.SEAT_PREFIX, limit, cursor, forward=True)
        return [schema.seat_from(i) for i in items], next_cursor

    def history(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[AuditEvent], str | None]:
        partition = schema.subscription_partition(subscription_id)
        items, next_cursor = self._table.page(partition, schema.EVENT_PREFIX, limit, cursor, forward=False)
        return [schema.event_from(subscription_id, i) for i in items], next_cursor

    def contacts_page(
        self, country: str, customer_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Contact], str | None]:
        partition = schema.customer_partition(country, customer_id)
        items, next_cursor = self._table.page(partition, schema.CONTACT_PREFIX, limit, cursor, forward=True)
        return [schema.contact_from(i) for i in items], next_cursor

    def contacts_named(self, country: str, customer_id: str, emails: list[str]) -> set[str]:
        """Which of these people (normalized emails) are known contacts of the customer."""
        if not emails:
            return set()
        keys = [schema.contact_key(country, customer_id, normalize_email(e)) for e in dict.fromkeys(emails)]
        return {schema.email_key_of_contact(i) for i in self._table.batch_get(keys)}

    def assign_seat(self, subscription: Subscription, seat: Seat, email: OutgoingEmail, event: AuditEvent) -> None:
        """`seats_used < license_quantity` is the guarantee that seats never exceed the licence; the use case's own
        check only chooses the message."""
        key = normalize_email(seat.email)
        access = schema.access_item(subscription, key, set())
        self._table.unit_of_work().add(
            _count_seats(subscription, "+", "seats_used < license_quantity"),
            put("seat", schema.seat_item(subscription.id, seat), ABSENT),
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
        ).record(event, subscription.version + 1).queue([email]).commit()

    def remove_seat(
        self, subscription: Subscription, email_key: str, roles: frozenset[str], email: OutgoingEmail, event: AuditEvent
    ) -> None:
        self._table.unit_of_work().add(
            _count_seats(subscription, "-", "seats_used > :zero", {":zero": 0}),
            delete("seat", schema.seat_key(subscription.id, email_key), PRESENT),
            _drop_role(subscription.id, email_key, roles, "seat"),
        ).record(event, subscription.version + 1).queue([email]).commit()

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
            grant = update(
                "new_admin_access",
                schema.access_key(after.id, new_key),
                "ADD #roles :admin",
                _roles_unchanged(new_roles),
                values={":admin": {"admin"}},
            )
        else:
            grant = put("new_admin_access", schema.access_item(after, new_key, {"admin"}), ABSENT)
        uow = self._table.unit_of_work().add(
            update(
                "subscription",
                schema.subscription_key(before.id),
                "SET #admin = :admin, admin_key = :key, version = version + :one",
                Condition(
                    "#s = :active AND #admin.#email = :old AND #v = :v",
                    {"#s": "status", "#admin": "admin", "#email": "email", "#v": "version"},
                    {":active": _ACTIVE, ":old": before.admin.email, ":v": before.version},
                ),
                values={":admin": to_record(after.admin), ":key": after.admin.key, ":one": 1},
            ),
            _drop_role(before.id, before.admin.key, old_roles, "admin"),
            grant,
            put("contact", schema.contact_item(after, after.admin)),
        )
        if before.activation_token_hash:
            uow.add(delete("old_token", schema.token_key(before.activation_token_hash)))
        uow.record(event, before.version + 1).queue(emails).commit()


def _count_seats(subscription: Subscription, sign: str, room: str, values: dict[str, int] | None = None) -> Operation:
    """One seat more or less on the version read, while the subscription is active and `room` holds."""
    return update(
        "subscription",
        schema.subscription_key(subscription.id),
        f"SET seats_used = seats_used {sign} :one, version = version + :one",
        Condition(
            f"#s = :active AND {room} AND #v = :v",
            {"#s": "status", "#v": "version"},
            {":active": _ACTIVE, ":v": subscription.version, **(values or {})},
        ),
        values={":one": 1},
    )


def _roles_unchanged(roles: frozenset[str]) -> Condition:
    """Conditional on the roles read before, so a concurrent change of the same person retries instead of being lost."""
    return Condition("#roles = :roles", {"#roles": "roles"}, {":roles": set(roles)})


def _drop_role(subscription_id: str, email_key: str, roles: frozenset[str], role: str) -> Operation:
    """Removes one role from a person's access entry; the entry goes when no role is left."""
    key = schema.access_key(subscription_id, email_key)
    if roles == {role}:
        return delete("access", key, _roles_unchanged(roles))
    return update("access", key, "DELETE #roles :role", _roles_unchanged(roles), values={":role": {role}})
