"""Administration of an ACTIVE subscription by its admin (DESIGN 3, 5.2; issue: seats, transfer, PO, payment,
agreement, cancellation, history). Every change is recorded in the history and queues its emails atomically."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import strictjson
from chalicelib.domain.access import AuditEvent, Seat
from chalicelib.domain.agreements import AgreementText
from chalicelib.domain.capabilities import NOT_ACTIVE
from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed, WriteConflict
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import (
    PaymentMethod,
    Person,
    Subscription,
    SubscriptionStatus,
    Transition,
    normalize_email,
    utc_iso,
)
from chalicelib.domain.payment import parse_payment_method
from chalicelib.services import emails
from chalicelib.services.access import NOT_VISIBLE, Authorized
from chalicelib.services.outbox import Delivery
from chalicelib.services.ports.administration import AdministrationStore
from chalicelib.services.ports.common import AgreementCatalog, Clock
from chalicelib.services.ports.subscriptions import SubscriptionReader
from chalicelib.services.ports.unit_of_work import UnitOfWorkFactory

RETRIES = 5
BUSY = "The subscription is changing a lot right now; please try again."


def _mail(kind: str, subscription: Subscription, to: Person, now: datetime) -> OutgoingEmail:
    return emails.outgoing(kind, subscription, to.email, now, str(uuid.uuid4()), recipient_name=to.name)


@dataclass(frozen=True)
class SeatList:
    subscription: Subscription
    seats: list[Seat]
    next_cursor: str | None


@dataclass(frozen=True)
class AgreementView:
    agreement: AgreementText
    accepted_at: str | None
    accepted_by: str | None


SEATS_PHASE, CONTACTS_PHASE = "s", "c"


MAX_IF_MATCH_LENGTH = 64  # an ETag this API wrote is a quoted version number


def parse_if_match(header: str | None) -> int | None:
    if header is None:
        return None
    value = header.strip()
    if len(value) > MAX_IF_MATCH_LENGTH:
        raise PreconditionFailed('If-Match must be the ETag from GET /subscriptions/{id}, e.g. "3".')
    if value == "*":
        return None
    version = strictjson.parse_whole_number(value.removeprefix("W/").strip('"'))
    if version is None:
        raise PreconditionFailed('If-Match must be the ETag from GET /subscriptions/{id}, e.g. "3".')
    return version


class Administration:
    """Every method takes the subscription as the route authorized it (`Authorized`: admin, and active unless said
    otherwise), so nothing is read twice and 403/404/409 come before a body is read."""

    def __init__(
        self,
        subscriptions: SubscriptionReader,
        store: AdministrationStore,
        clock: Clock,
        agreements: AgreementCatalog,
        delivery: Delivery,
        unit_of_work: UnitOfWorkFactory,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._subscriptions = subscriptions
        self._store = store
        self._clock = clock
        self._agreements = agreements
        self._delivery = delivery

    # -- seats -------------------------------------------------------------------------------------------------------
    def list_seats(self, admin: Authorized, limit: int, cursor: str | None) -> SeatList:
        seats, next_cursor = self._store.list_seats(admin.subscription.id, limit, cursor)
        return SeatList(admin.subscription, seats, next_cursor)

    def assign_seat(self, admin: Authorized, person: Person) -> Seat:
        subscription = admin.subscription
        for _ in range(RETRIES):
            now = self._clock.now()
            after, event = subscription.assign_seat(person, admin.caller.email, now)
            seat = Seat(email=person.email, name=person.name, assigned_at=now)
            mail = _mail(emails.SEAT_ASSIGNED, subscription, person, now)
            uow = self._unit_of_work()
            uow.save(subscription, after, event)
            uow.add_seat(subscription, seat)
            uow.queue([mail])
            try:
                uow.commit()
            except WriteConflict:
                subscription = self._reread_active(subscription.id)
                if self._store.get_seat(subscription.id, person.key) is not None:
                    raise Conflict(f"{person.email} already holds a seat on this subscription.") from None
                continue
            self._delivery.deliver_now([mail])
            return seat
        raise Conflict(BUSY)

    def remove_seat(self, admin: Authorized, email: str) -> None:
        subscription = admin.subscription
        key = normalize_email(email)
        for _ in range(RETRIES):
            roles = self._store.get_roles(subscription.id, [key]).get(key, frozenset())
            if "seat" not in roles:
                raise NotFound(f"{email} holds no seat on this subscription.")
            seat = self._store.get_seat(subscription.id, key)
            seat_holder = Person(email=seat.email, name=seat.name) if seat else Person(email=email, name=email)
            now = self._clock.now()
            mail = _mail(emails.SEAT_REMOVED, subscription, seat_holder, now)
            after, event = subscription.remove_seat(seat_holder, admin.caller.email, now)
            uow = self._unit_of_work()
            uow.save(subscription, after, event)
            uow.remove_seat(subscription, key, roles)
            uow.queue([mail])
            try:
                uow.commit()
            except WriteConflict:
                subscription = self._reread_active(subscription.id)
                continue
            self._delivery.deliver_now([mail])
            return
        raise Conflict(BUSY)

    def _reread_active(self, subscription_id: str) -> Subscription:
        current = self._subscriptions.get_subscription(subscription_id)
        if current is None:
            raise NotFound(NOT_VISIBLE)
        if current.status is not SubscriptionStatus.ACTIVE:
            raise Conflict(NOT_ACTIVE)
        return current

    # -- admin transfer ----------------------------------------------------------------------------------------------
    def admin_candidates(
        self, admin: Authorized, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Seat holders first, then the customer's other contacts (earlier admins and seat holders), page by page. A
        contact who holds a seat was listed with the seat holders already and is not repeated, nor is the admin. The
        cursor is None on the last page: a page is followed by one only if some candidate is left after it."""
        phase: str | None
        phase, inner = (cursor[0], cursor[2:] or None) if cursor and cursor[1:2] == ":" else (SEATS_PHASE, None)
        if cursor and (phase not in (SEATS_PHASE, CONTACTS_PHASE) or cursor[1:2] != ":"):
            raise InvalidInput("The cursor is not valid. Start again without a cursor.")
        page: list[dict[str, Any]] = []
        while phase is not None and len(page) < limit:
            found, phase, inner = self._candidates_from(admin.subscription, phase, inner, limit - len(page))
            page += found
        after = (phase, inner)
        while phase is not None:  # look ahead: the rest may be only people left out (the admin, seat holders)
            found, phase, inner = self._candidates_from(admin.subscription, phase, inner, limit)
            if found:
                return page, f"{after[0]}:{after[1] or ''}"
        return page, None

    def _candidates_from(
        self, subscription: Subscription, phase: str, inner: str | None, count: int
    ) -> tuple[list[dict[str, Any]], str | None, str | None]:
        """The candidates among the next `count` entries of `phase` from `inner`, and where the next read starts
        (phase None: nothing is left)."""
        admin_key = subscription.admin.key
        if phase == SEATS_PHASE:
            seats, next_inner = self._store.list_seats(subscription.id, count, inner)
            known = self._store.contacts_named(subscription.country, subscription.customer.id, [s.email for s in seats])
            found = [
                {"email": seat.email, "name": seat.name,
                 "sources": ["seat_holder"] + (["customer_contact"] if normalize_email(seat.email) in known else [])}
                for seat in seats if normalize_email(seat.email) != admin_key
            ]
            return found, (SEATS_PHASE if next_inner else CONTACTS_PHASE), next_inner
        contacts, next_inner = self._store.contacts_page(subscription.country, subscription.customer.id, count, inner)
        roles = self._store.get_roles(subscription.id, [normalize_email(c.email) for c in contacts])
        found = [
            {"email": contact.email, "name": contact.name, "sources": ["customer_contact"]}
            for contact in contacts
            if "seat" not in roles.get(normalize_email(contact.email), frozenset())
            and normalize_email(contact.email) != admin_key
        ]
        return found, (CONTACTS_PHASE if next_inner else None), next_inner

    def transfer_admin(self, admin: Authorized, new_admin: Person) -> Subscription:
        subscription = admin.subscription
        for _ in range(RETRIES):
            old_admin = subscription.admin
            if new_admin.key == old_admin.key:
                raise Conflict(f"{new_admin.email} is already the administrator.")
            roles = self._store.get_roles(subscription.id, [old_admin.key, new_admin.key])
            now = self._clock.now()
            after, event = subscription.transfer_admin(new_admin, admin.caller.email, now)
            mails = [
                _mail(emails.ADMIN_TRANSFERRED_NEW, after, new_admin, now),
                _mail(emails.ADMIN_TRANSFERRED_OLD, after, old_admin, now),
            ]
            uow = self._unit_of_work()
            uow.save(subscription, after, event)
            old_roles, new_roles = roles.get(old_admin.key, frozenset()), roles.get(new_admin.key, frozenset())
            uow.hand_over_admin(subscription, after, old_roles, new_roles)
            uow.queue(mails)
            try:
                uow.commit()
            except WriteConflict:
                current = self._reread_active(subscription.id)
                if current.admin.key != admin.caller.key:
                    raise Forbidden("You are no longer the administrator of this subscription.") from None
                subscription = current
                continue
            self._delivery.deliver_now(mails)
            return after
        raise Conflict(BUSY)

    # -- PO number, payment method, cancellation ---------------------------------------------------------------------
    def edit_po_number(self, admin: Authorized, po_number: str | None, if_match: str | None) -> Subscription:
        subscription = admin.subscription
        expected = parse_if_match(if_match)
        if expected is not None and expected != subscription.version:
            raise PreconditionFailed("The subscription changed since you read it. Reload it and apply your edit again.")
        actor = admin.caller.email
        return self._change(subscription, lambda s, now: s.change_po_number(po_number, actor, now), expected)

    def change_payment_method(self, admin: Authorized, body: dict[str, Any]) -> Subscription:
        """`body` is checked here, not at the edge: a card's expiry is judged against this use case's clock."""
        method: PaymentMethod = parse_payment_method(body, self._clock.now().date())
        actor = admin.caller.email
        return self._change(admin.subscription, lambda s, now: s.change_payment_method(method, actor, now), None)

    def set_cancellation(self, admin: Authorized, cancel: bool) -> tuple[Subscription, bool]:
        """Returns the subscription and whether anything changed (setting what is already set is a no-op)."""
        subscription, actor = admin.subscription, admin.caller.email
        for _ in range(RETRIES):
            if subscription.cancel_at_renewal is cancel:
                return subscription, False
            kind = emails.CANCELLATION_SCHEDULED if cancel else emails.CANCELLATION_WITHDRAWN
            try:
                return self._change(
                    subscription,
                    lambda s, now: s.set_cancellation(cancel, actor, now),
                    None,
                    mail_kind=kind,
                    require={"cancel_at_renewal": not cancel},
                ), True
            except Conflict:
                subscription = self._reread_active(subscription.id)
        raise Conflict(BUSY)

    def _change(
        self,
        subscription: Subscription,
        transition: Callable[[Subscription, datetime], Transition],
        expected_version: int | None,
        mail_kind: str | None = None,
        require: dict[str, Any] | None = None,
    ) -> Subscription:
        """The write requires the version it read, so its history event takes exactly the next place. A concurrent
        change of something else (a seat, the PO number) makes it read again and retry; a stale If-Match is 412, and
        a `require`d state that no longer holds is a Conflict for the caller to decide on."""
        for _ in range(RETRIES):
            now = self._clock.now()
            after, event = transition(subscription, now)
            mails = [_mail(mail_kind, after, after.admin, now)] if mail_kind else []
            uow = self._unit_of_work()
            uow.save(subscription, after, event)
            uow.queue(mails)
            try:
                uow.commit()
            except WriteConflict:
                current = self._reread_active(subscription.id)
                if expected_version is not None and current.version != expected_version:
                    raise PreconditionFailed(
                        "The subscription changed since you read it. Reload it and apply your edit again."
                    ) from None
                if any(getattr(current, name) != value for name, value in (require or {}).items()):
                    raise Conflict("The subscription changed at the same moment; please try again.") from None
                subscription = current
                continue
            self._delivery.deliver_now(mails)
            return after
        raise Conflict(BUSY)

    # -- agreement and history ---------------------------------------------------------------------------------------
    def agreement_of(self, admin: Authorized) -> AgreementView:
        """Readable while pending too: the portal shows it before the admin activates there."""
        subscription = admin.subscription
        evidence = subscription.evidence
        if evidence is not None:
            text = self._agreements.get(subscription.country, subscription.language, evidence.agreement_version)
            if text is None:
                raise RuntimeError(f"accepted agreement {evidence.agreement_version} is missing from the catalog")
            return AgreementView(text, utc_iso(evidence.accepted_at), evidence.accepted_by)
        return AgreementView(self._agreements.current(subscription.country, subscription.language), None, None)

    def history(self, admin: Authorized, limit: int, cursor: str | None) -> tuple[list[AuditEvent], str | None]:
        return self._store.history(admin.subscription.id, limit, cursor)
