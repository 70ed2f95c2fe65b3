"""An in-memory unit of work and stores (cosmicpython's FakeUnitOfWork), so tests of the administration, activation,
renewal and invoicing rules run without moto. They keep the DynamoDB adapter's promises: a save applies only on the
version and status read (with a free seat for one more, and before the deadline for an activation), a seat, a link's
token, the acceptance evidence, a cause's guard and a document are new, roles are as read, a series counter moves only
from the number read, and a failed commit writes nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from chalicelib.domain.access import AuditEvent, Contact, Seat
from chalicelib.domain.activation_links import ActivationToken
from chalicelib.domain.billing.document import Cause, CorrectedBy, CorrectionCause, Invoice, TermCause
from chalicelib.domain.errors import WriteConflict
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import (
    ActivationEvidence,
    Customer,
    PaymentMethod,
    Person,
    Product,
    Subscription,
    SubscriptionStatus,
    normalize_email,
)
from chalicelib.domain.outbox import OutboxMessage
from chalicelib.services.ports.invoices import CORRECTION_LABEL, COUNTER_LABEL, INVOICE_LABEL


@dataclass
class FakeTable:
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    seats: dict[tuple[str, str], Seat] = field(default_factory=dict)
    roles: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    events: dict[str, list[AuditEvent]] = field(default_factory=dict)  # oldest first
    outbox: list[OutboxMessage] = field(default_factory=list)
    contacts: dict[tuple[str, str], Contact] = field(default_factory=dict)
    tokens: dict[str, ActivationToken] = field(default_factory=dict)  # by token hash
    evidence: dict[str, ActivationEvidence] = field(default_factory=dict)
    visible_past_deadline: set[str] = field(default_factory=set)  # subscriptions whose admin access stays listed
    documents: dict[tuple[str, str], Invoice] = field(default_factory=dict)  # (subscription, document id)
    causes: dict[tuple[str, Cause], str] = field(default_factory=dict)  # (subscription, cause) -> document id
    series: dict[str, int] = field(default_factory=dict)  # last number issued


class FakeUnitOfWork:
    def __init__(self, table: FakeTable) -> None:
        self._table = table
        self._checks: list[tuple[str, Callable[[], bool]]] = []
        self._writes: list[Callable[[], None]] = []
        self.committed = False

    def _stage(self, label: str, check: Callable[[], bool], write: Callable[[], None]) -> None:
        self._checks.append((label, check))
        self._writes.append(write)

    def save(self, before: Subscription, after: Subscription, event: AuditEvent) -> None:
        def still() -> bool:
            stored = self._table.subscriptions.get(before.id)
            if stored is None or stored.version != before.version or stored.status is not before.status:
                return False
            activating = before.status is SubscriptionStatus.PENDING_ACTIVATION and after.activated_at is not None
            if activating and not (after.activated_at is not None and after.activated_at < stored.activation_deadline):
                return False
            return after.seats_used <= stored.license_quantity and stored.admin.key == before.admin.key

        def write() -> None:
            self._table.subscriptions[after.id] = after
            self._table.events.setdefault(after.id, []).append(event)

        self._stage("subscription", still, write)

    def queue(self, messages: Sequence[OutboxMessage]) -> None:
        self._writes.append(lambda: self._table.outbox.extend(messages))

    def add_seat(self, subscription: Subscription, seat: Seat) -> None:
        key = (subscription.id, normalize_email(seat.email))

        def write() -> None:
            self._table.seats[key] = seat
            self._table.roles[key] = self._table.roles.get(key, frozenset()) | {"seat"}
            contact = (subscription.customer.id, key[1])
            self._table.contacts[contact] = Contact(email=seat.email, name=seat.name)

        self._stage("seat", lambda: key not in self._table.seats, write)

    def remove_seat(self, subscription: Subscription, email_key: str, roles: frozenset[str]) -> None:
        key = (subscription.id, email_key)
        self._stage("seat", lambda: key in self._table.seats, lambda: self._table.seats.pop(key))
        self._stage("access", self._roles_are(key, roles), lambda: self._drop(key, "seat"))

    def hand_over_admin(
        self, before: Subscription, after: Subscription, old_roles: frozenset[str], new_roles: frozenset[str]
    ) -> None:
        old, new = (before.id, before.admin.key), (after.id, after.admin.key)
        self._stage("access", self._roles_are(old, old_roles), lambda: self._drop(old, "admin"))

        def grant() -> None:
            self._table.roles[new] = self._table.roles.get(new, frozenset()) | {"admin"}

        self._stage("new_admin_access", self._roles_are(new, new_roles), grant)

    def keep_acceptance(self, activated: Subscription) -> None:
        assert activated.evidence is not None

        def write() -> None:
            self._table.evidence[activated.id] = activated.evidence  # type: ignore[assignment]
            self._table.visible_past_deadline.add(activated.id)

        self._stage("evidence", lambda: activated.id not in self._table.evidence, write)

    def replace_link(self, before: Subscription, token: ActivationToken) -> None:
        def write() -> None:
            self._table.tokens[token.token_hash] = token
            if before.activation_token_hash:
                self._table.tokens.pop(before.activation_token_hash, None)

        self._stage("token", lambda: token.token_hash not in self._table.tokens, write)

    def issue(self, document: Invoice, cause: Cause, series: str, expected_last: int) -> None:
        guard, key = (document.subscription_id, cause), (document.subscription_id, document.id)

        def write() -> None:
            self._table.causes[guard] = document.id
            self._table.documents[key] = document
            self._table.series[series] = expected_last + 1

        self._stage(INVOICE_LABEL, lambda: guard not in self._table.causes and key not in self._table.documents, write)
        self._stage(COUNTER_LABEL, lambda: self._table.series.get(series, 0) == expected_last, lambda: None)

    def correct(
        self, corrected: Invoice, credit_note: Invoice, replacement: Invoice, numbers: Sequence[tuple[str, int]]
    ) -> None:
        guard = (corrected.subscription_id, CorrectionCause.of(corrected))
        key = (corrected.subscription_id, corrected.id)
        link = {"credit_note": {"id": credit_note.id, "number": credit_note.number},
                "replacement": {"id": replacement.id, "number": replacement.number}}  # fmt: skip
        marked = corrected.model_copy(update={"corrected_by": CorrectedBy.model_validate(link)})

        def write() -> None:
            self._table.causes[guard] = credit_note.id
            self._table.documents[key] = marked
            for document in (credit_note, replacement):
                self._table.documents[(document.subscription_id, document.id)] = document
            for series, expected_last in numbers:
                self._table.series[series] = expected_last + 1

        def unmarked() -> bool:
            stored = self._table.documents.get(key)
            return guard not in self._table.causes and stored is not None and stored.corrected_by is None

        self._stage(CORRECTION_LABEL, unmarked, write)
        for series, expected_last in numbers:
            unmoved = lambda s=series, e=expected_last: self._table.series.get(s, 0) == e  # noqa: E731
            self._stage(COUNTER_LABEL, unmoved, lambda: None)

    def _roles_are(self, key: tuple[str, str], roles: frozenset[str]) -> Callable[[], bool]:
        return lambda: self._table.roles.get(key, frozenset()) == roles

    def _drop(self, key: tuple[str, str], role: str) -> None:
        left = self._table.roles.get(key, frozenset()) - {role}
        if left:
            self._table.roles[key] = left
        else:
            self._table.roles.pop(key, None)

    def commit(self) -> None:
        failed = frozenset(label for label, check in self._checks if not check())
        if failed:
            raise WriteConflict(failed)
        for write in self._writes:
            write()
        self.committed = True


class FakeUnitsOfWork:
    """The unit-of-work factory a use case is given. `before_next`: what a concurrent writer commits just before the
    next unit of work opens (one entry per unit of work, in order)."""

    def __init__(self, table: FakeTable) -> None:
        self._table = table
        self.before_next: list[Callable[[], object]] = []

    def __call__(self) -> FakeUnitOfWork:
        if self.before_next:
            self.before_next.pop(0)()
        return FakeUnitOfWork(self._table)


class FakeSubscriptions:
    def __init__(self, table: FakeTable) -> None:
        self._table = table

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        return self._table.subscriptions.get(subscription_id)


class FakeOrders:
    def __init__(self, table: FakeTable) -> None:
        self._table = table

    def get_token(self, token_hash: str) -> ActivationToken | None:
        return self._table.tokens.get(token_hash)


class FakeInvoices:
    """The invoice store's reads. `after_read` runs after each counter read: a test takes the number meanwhile."""

    def __init__(self, table: FakeTable) -> None:
        self._table = table
        self.after_read: Callable[[], None] = lambda: None

    def last_number(self, series: str) -> int:
        last = self._table.series.get(series, 0)
        self.after_read()
        return last

    def get_invoice(self, subscription_id: str, invoice_id: str) -> Invoice | None:
        return self._table.documents.get((subscription_id, invoice_id))

    def invoice_for_term(self, subscription_id: str, period_start: date) -> Invoice | None:
        document_id = self._table.causes.get((subscription_id, TermCause(period_start)))
        return None if document_id is None else self.get_invoice(subscription_id, document_id)


class FakeAdministrationStore:
    def __init__(self, table: FakeTable) -> None:
        self._table = table

    def get_roles(self, subscription_id: str, emails: list[str]) -> dict[str, frozenset[str]]:
        return {e: self._table.roles.get((subscription_id, e), frozenset()) for e in emails}

    def get_seat(self, subscription_id: str, email_key: str) -> Seat | None:
        return self._table.seats.get((subscription_id, email_key))

    def list_seats(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[Seat], str | None]:
        seats = [s for (sid, _), s in sorted(self._table.seats.items()) if sid == subscription_id]
        return seats[:limit], None

    def history(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[AuditEvent], str | None]:
        return list(reversed(self._table.events.get(subscription_id, [])))[:limit], None


class FakeDelivery:
    def __init__(self) -> None:
        self.delivered: list[OutgoingEmail] = []

    def deliver_now(self, emails: list[OutgoingEmail]) -> None:
        self.delivered.extend(emails)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


def person(name: str) -> Person:
    return Person(email=f"{name}@example.fr", name=name.title())


def subscription(**changes: Any) -> Subscription:
    """Subscription sub-1, pending (ordered 1 March 2026), administered by Marie; `changes` replace any field."""
    pending = Subscription(
        id="sub-1",
        order_id="SO-1",
        status=SubscriptionStatus.PENDING_ACTIVATION,
        product=Product(code="PROFIS-ENG", name="PROFIS Engineering Suite"),
        country="FR",
        locale="fr-FR",
        customer=Customer(id="0000012345", name="Béton & Fils"),
        admin=person("marie"),
        license_quantity=2,
        term_months=12,
        unit_price=Decimal("450.00"),
        currency="EUR",
        payment_method=PaymentMethod(type="invoice"),
        ordered_at=datetime(2026, 3, 1, tzinfo=UTC),
        activation_deadline=datetime(2026, 5, 30, tzinfo=UTC),
        agreement_version="FR-fr-2026.1",
    )
    return replace(pending, **changes)
