"""Administration of an ACTIVE subscription by its admin (DESIGN 3, 5.2; issue: seats, transfer, PO, payment,
agreement, cancellation, history). Every change is recorded in the history and queues its emails atomically."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import strictjson
from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed, WriteConflict
from chalicelib.domain.models import (
    Person,
    Role,
    Subscription,
    SubscriptionStatus,
    is_printable,
    normalize_email,
    tidy_text,
    utc_iso,
)
from chalicelib.domain.orders import MAX_NAME_LENGTH, validate_email, validate_po_number
from chalicelib.domain.payment import parse_payment_method
from chalicelib.services import emails
from chalicelib.services.identity import Caller
from chalicelib.services.outbox import Delivery
from chalicelib.services.portal import visible_subscription
from chalicelib.services.ports import (
    AgreementCatalog,
    AgreementText,
    AuditEvent,
    Clock,
    ManagementRepository,
    OutgoingEmail,
    Seat,
    SubscriptionChange,
)

Body = dict[str, Any] | Callable[[], dict[str, Any]]
"""A request body, or how to parse it: parsed only once the caller is known to be allowed (403/404 before 400)."""

NOT_ACTIVE = "Only an active subscription can be managed. Activate it first by accepting the agreement."
ADMIN_ONLY = "Only the subscription's administrator may do this."
RETRIES = 5


@dataclass(frozen=True)
class Ports:
    repo: ManagementRepository
    clock: Clock
    delivery: Delivery


def _admin_subscription(caller: Caller, subscription_id: str, ports: Ports, *, active: bool = True) -> Subscription:
    subscription, role = visible_subscription(caller, subscription_id, repo=ports.repo, clock=ports.clock)  # type: ignore[arg-type]
    if role is not Role.ADMIN:
        raise Forbidden(ADMIN_ONLY)
    if active and subscription.status is not SubscriptionStatus.ACTIVE:
        raise Conflict(NOT_ACTIVE)
    return subscription


def _read(body: Body) -> dict[str, Any]:
    return body() if callable(body) else body


def _event(subscription: Subscription, actor: Caller, action: str, now: datetime, **details: Any) -> AuditEvent:
    return AuditEvent(subscription_id=subscription.id, at=now, actor=actor.email, action=action, details=details)


def _mail(kind: str, subscription: Subscription, to: Person, now: datetime) -> OutgoingEmail:
    return emails.outgoing(kind, subscription, to.email, now, str(uuid.uuid4()), recipient_name=to.name)


def _person(body: dict[str, Any]) -> Person:
    unknown = sorted(set(body) - {"email", "name"})
    if unknown:
        raise InvalidInput(f'Unknown field(s) {", ".join(unknown)}; send {{"email", "name"}}.')
    email, name = body.get("email"), body.get("name")
    if not isinstance(email, str):
        raise InvalidInput("email is required.")
    try:
        email = validate_email(email)
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    name = tidy_text(name) if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME_LENGTH or not is_printable(name):
        raise InvalidInput(f"name is required: 1 to {MAX_NAME_LENGTH} printable characters.")
    return Person(email=email, name=name)


# -- seats -----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SeatList:
    subscription: Subscription
    seats: list[Seat]
    next_cursor: str | None


def list_seats(caller: Caller, subscription_id: str, limit: int, cursor: str | None, ports: Ports) -> SeatList:
    subscription = _admin_subscription(caller, subscription_id, ports)
    seats, next_cursor = ports.repo.list_seats(subscription.id, limit, cursor)
    return SeatList(subscription, seats, next_cursor)


def assign_seat(caller: Caller, subscription_id: str, body: Body, ports: Ports) -> Seat:
    subscription = _admin_subscription(caller, subscription_id, ports)
    person = _person(_read(body))
    for _ in range(RETRIES):
        now = ports.clock.now()
        if subscription.seats_used >= subscription.license_quantity:
            raise Conflict(f"All {subscription.license_quantity} seats are assigned. Remove someone first.")
        seat = Seat(email=person.email, name=person.name, assigned_at=now)
        mail = _mail(emails.SEAT_ASSIGNED, subscription, person, now)
        event = _event(subscription, caller, "seat.assigned", now, email=person.email, name=person.name)
        try:
            ports.repo.assign_seat(subscription, seat, mail, event)
        except WriteConflict:
            subscription = _reread_active(subscription.id, ports)
            if ports.repo.get_seat(subscription.id, person.key) is not None:
                raise Conflict(f"{person.email} already holds a seat on this subscription.") from None
            continue
        ports.delivery.deliver_now([mail])
        return seat
    raise Conflict("The subscription is changing a lot right now; please try again.")


def remove_seat(caller: Caller, subscription_id: str, email: str, ports: Ports) -> None:
    subscription = _admin_subscription(caller, subscription_id, ports)
    key = normalize_email(email)
    for _ in range(RETRIES):
        roles = ports.repo.get_roles(subscription.id, [key]).get(key, frozenset())
        if "seat" not in roles:
            raise NotFound(f"{email} holds no seat on this subscription.")
        seat = ports.repo.get_seat(subscription.id, key)
        seat_holder = Person(email=seat.email, name=seat.name) if seat else Person(email=email, name=email)
        now = ports.clock.now()
        mail = _mail(emails.SEAT_REMOVED, subscription, seat_holder, now)
        event = _event(subscription, caller, "seat.removed", now, email=seat_holder.email)
        try:
            ports.repo.remove_seat(subscription, key, roles, mail, event)
        except WriteConflict:
            subscription = _reread_active(subscription.id, ports)
            continue
        ports.delivery.deliver_now([mail])
        return
    raise Conflict("The subscription is changing a lot right now; please try again.")


def _reread_active(subscription_id: str, ports: Ports) -> Subscription:
    current = ports.repo.get_subscription(subscription_id)
    if current is None:
        raise NotFound("No subscription with this id is visible to you.")
    if current.status is not SubscriptionStatus.ACTIVE:
        raise Conflict(NOT_ACTIVE)
    return current


# -- entitlements ----------------------------------------------------------------------------------------------------
def entitlements(
    caller: Caller, limit: int, cursor: str | None, repo: ManagementRepository, clock: Clock
) -> tuple[list[Subscription], str | None]:
    page = repo.list_access(caller.key, caller.country, limit, cursor)
    seat_ids = [e.subscription_id for e in page.entries if "seat" in e.roles]
    found = repo.subscriptions_with_roles(seat_ids, caller.key) if seat_ids else []
    by_id = {s.id: (s, roles) for s, roles in found}
    usable = [
        by_id[i][0]
        for i in seat_ids
        if i in by_id
        and "seat" in by_id[i][1]
        and by_id[i][0].status is SubscriptionStatus.ACTIVE
        and by_id[i][0].country == caller.country
    ]
    return usable, page.next_cursor


# -- admin transfer --------------------------------------------------------------------------------------------------
SEATS_PHASE, CONTACTS_PHASE = "s", "c"


def admin_candidates(
    caller: Caller, subscription_id: str, limit: int, cursor: str | None, ports: Ports
) -> tuple[list[dict[str, Any]], str | None]:
    """Seat holders first, then the customer's other contacts (earlier admins and seat holders), page by page. A
    contact who holds a seat was listed with the seat holders already and is not repeated."""
    subscription = _admin_subscription(caller, subscription_id, ports)
    phase, inner = (cursor[0], cursor[2:] or None) if cursor and cursor[1:2] == ":" else (SEATS_PHASE, None)
    if cursor and (phase not in (SEATS_PHASE, CONTACTS_PHASE) or cursor[1:2] != ":"):
        raise InvalidInput("The cursor is not valid. Start again without a cursor.")
    candidates: list[dict[str, Any]] = []
    next_cursor: str | None
    if phase == SEATS_PHASE:
        seats, next_inner = ports.repo.list_seats(subscription.id, limit, inner)
        known = ports.repo.contacts_named(subscription.country, subscription.customer.id, [s.email for s in seats])
        for seat in seats:
            sources = ["seat_holder"] + (["customer_contact"] if normalize_email(seat.email) in known else [])
            candidates.append({"email": seat.email, "name": seat.name, "sources": sources})
        if next_inner:
            next_cursor = f"{SEATS_PHASE}:{next_inner}"
        else:  # the seat holders ended on this page: fill it up with the other contacts
            phase, inner, limit = CONTACTS_PHASE, None, max(limit - len(seats), 1)
    if phase == CONTACTS_PHASE:
        contacts, next_inner = ports.repo.contacts_page(subscription.country, subscription.customer.id, limit, inner)
        roles = ports.repo.get_roles(subscription.id, [normalize_email(c.email) for c in contacts])
        for contact in contacts:
            if "seat" not in roles.get(normalize_email(contact.email), frozenset()):
                candidates.append({"email": contact.email, "name": contact.name, "sources": ["customer_contact"]})
        next_cursor = f"{CONTACTS_PHASE}:{next_inner}" if next_inner else None
    admin = subscription.admin.key
    return [c for c in candidates if normalize_email(c["email"]) != admin], next_cursor


def transfer_admin(caller: Caller, subscription_id: str, body: Body, ports: Ports) -> Subscription:
    subscription = _admin_subscription(caller, subscription_id, ports)
    new_admin = _person(_read(body))
    for _ in range(RETRIES):
        old_admin = subscription.admin
        if new_admin.key == old_admin.key:
            raise Conflict(f"{new_admin.email} is already the administrator.")
        roles = ports.repo.get_roles(subscription.id, [old_admin.key, new_admin.key])
        now = ports.clock.now()
        after = subscription.model_copy(update={"admin": new_admin, "version": subscription.version + 1})
        mails = [
            _mail(emails.ADMIN_TRANSFERRED_NEW, after, new_admin, now),
            _mail(emails.ADMIN_TRANSFERRED_OLD, after, old_admin, now),
        ]
        event = _event(
            subscription, caller, "admin.transferred", now, old_admin=old_admin.email, new_admin=new_admin.email
        )
        try:
            ports.repo.transfer_admin(
                subscription,
                after,
                roles.get(old_admin.key, frozenset()),
                roles.get(new_admin.key, frozenset()),
                mails,
                event,
            )
        except WriteConflict:
            current = _reread_active(subscription.id, ports)
            if current.admin.key != caller.key:
                raise Forbidden("You are no longer the administrator of this subscription.") from None
            subscription = current
            continue
        ports.delivery.deliver_now(mails)
        return after
    raise Conflict("The subscription is changing a lot right now; please try again.")


# -- PO number, payment method, cancellation -------------------------------------------------------------------------
def parse_if_match(header: str | None) -> int | None:
    if header is None:
        return None
    value = header.strip()
    if value == "*":
        return None
    version = strictjson.parse_whole_number(value.removeprefix("W/").strip('"'))
    if version is None:
        raise PreconditionFailed('If-Match must be the ETag from GET /subscriptions/{id}, e.g. "3".')
    return version


PATCHABLE = frozenset({"po_number"})


def edit_po_number(
    caller: Caller, subscription_id: str, body: Body, if_match: str | None, ports: Ports
) -> Subscription:
    subscription = _admin_subscription(caller, subscription_id, ports)
    body = _read(body)
    unknown = sorted(set(body) - PATCHABLE)
    if unknown or "po_number" not in body:
        raise InvalidInput(
            "Only po_number can be changed here" + (f"; not {', '.join(unknown)}" if unknown else "") + "."
        )
    po_number = body["po_number"]
    if po_number is not None and not isinstance(po_number, str):
        raise InvalidInput("po_number must be a string (or null to remove it).")
    try:
        po_number = validate_po_number(po_number.strip() if po_number else None) or None
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    expected = parse_if_match(if_match)
    if expected is not None and expected != subscription.version:
        raise PreconditionFailed("The subscription changed since you read it. Reload it and apply your edit again.")
    return _change(
        caller,
        subscription,
        ports,
        {"po_number": po_number},
        "po_number.changed",
        expected,
        details={"old": subscription.po_number, "new": po_number},
    )


def change_payment_method(caller: Caller, subscription_id: str, body: Body, ports: Ports) -> Subscription:
    subscription = _admin_subscription(caller, subscription_id, ports)
    method = parse_payment_method(_read(body), ports.clock.now().date())
    safe: dict[str, Any] = {"type": method.type}
    if method.type == "card":
        safe.update(brand=method.brand, last4=method.last4)  # never the token: history must hold nothing secret
    return _change(
        caller,
        subscription,
        ports,
        {"payment_method": method.model_dump(mode="json")},
        "payment_method.changed",
        None,
        details=safe,
    )


def set_cancellation(caller: Caller, subscription_id: str, cancel: bool, ports: Ports) -> tuple[Subscription, bool]:
    """Returns the subscription and whether anything changed (setting what is already set is a no-op)."""
    subscription = _admin_subscription(caller, subscription_id, ports)
    for _ in range(RETRIES):
        if subscription.cancel_at_renewal is cancel:
            return subscription, False
        kind = emails.CANCELLATION_SCHEDULED if cancel else emails.CANCELLATION_WITHDRAWN
        action = "cancellation.scheduled" if cancel else "cancellation.withdrawn"
        try:
            return _change(
                caller,
                subscription,
                ports,
                {"cancel_at_renewal": cancel},
                action,
                None,
                mail_kind=kind,
                require={"cancel_at_renewal": not cancel},
                details={"renewal_date": str(subscription.next_renewal_date)},
            ), True
        except Conflict:
            subscription = _reread_active(subscription.id, ports)
    raise Conflict("The subscription is changing a lot right now; please try again.")


def _change(
    caller: Caller,
    subscription: Subscription,
    ports: Ports,
    fields: dict[str, Any],
    action: str,
    expected_version: int | None,
    mail_kind: str | None = None,
    require: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> Subscription:
    """The write requires the version it read, so its history event takes exactly the next place. A concurrent
    change of something else (a seat, the PO number) makes it read again and retry; a stale If-Match is 412, and a
    `require`d state that no longer holds is a Conflict for the caller to decide on."""
    for _ in range(RETRIES):
        now = ports.clock.now()
        preview = subscription.model_validate(
            {**subscription.model_dump(), **fields, "version": subscription.version + 1}
        )
        mails = [_mail(mail_kind, preview, preview.admin, now)] if mail_kind else []
        event = _event(subscription, caller, action, now, **(details or {}))
        change = SubscriptionChange(fields=fields, expected_version=expected_version, require=require or {})
        try:
            after = ports.repo.change_subscription(subscription, change, mails, event)
        except WriteConflict:
            current = _reread_active(subscription.id, ports)
            if expected_version is not None and current.version != expected_version:
                raise PreconditionFailed(
                    "The subscription changed since you read it. Reload it and apply your edit again."
                ) from None
            if any(getattr(current, name) != value for name, value in (require or {}).items()):
                raise Conflict("The subscription changed at the same moment; please try again.") from None
            subscription = current
            continue
        ports.delivery.deliver_now(mails)
        return after
    raise Conflict("The subscription is changing a lot right now; please try again.")


# -- agreement and history -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgreementView:
    agreement: AgreementText
    accepted_at: str | None
    accepted_by: str | None


def agreement_of(caller: Caller, subscription_id: str, ports: Ports, agreements: AgreementCatalog) -> AgreementView:
    """Readable while pending too: the portal shows it before the admin activates there."""
    subscription = _admin_subscription(caller, subscription_id, ports, active=False)
    evidence = subscription.evidence
    if evidence is not None:
        text = agreements.get(subscription.country, subscription.language, evidence.agreement_version)
        if text is None:
            raise RuntimeError(f"accepted agreement {evidence.agreement_version} is missing from the catalog")
        return AgreementView(text, utc_iso(evidence.accepted_at), evidence.accepted_by)
    return AgreementView(agreements.current(subscription.country, subscription.language), None, None)


def history(
    caller: Caller, subscription_id: str, limit: int, cursor: str | None, ports: Ports
) -> tuple[list[AuditEvent], str | None]:
    subscription = _admin_subscription(caller, subscription_id, ports)
    return ports.repo.history(subscription.id, limit, cursor)
