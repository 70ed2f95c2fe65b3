"""Domain model of a subscription and its lifecycle rules. No I/O here."""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, ClassVar, Literal

from chalicelib.domain.access import AuditEvent
from chalicelib.domain.errors import Conflict
from chalicelib.domain.identifiers import ElectronicAddress

ACTIVATION_WINDOW = timedelta(days=90)
_ISO_COUNTRY = re.compile(r"[A-Z]{2}")


class SubscriptionStatus(StrEnum):
    PENDING_ACTIVATION = "pending_activation"
    ACTIVE = "active"
    ENDED = "ended"


class Role(StrEnum):
    ADMIN = "admin"
    USER = "user"


class ActivationChannel(StrEnum):
    EMAIL_LINK = "email_link"
    PORTAL = "portal"


# The subscription and its parts are plain frozen dataclasses, not pydantic models: input is validated where it enters
# (request bodies, orders, configuration), and the portal's reads, the most frequent cold start, decode stored items
# with `subscription_from_record` without importing pydantic at all. Pydantic still validates these classes where they
# sit inside its models (an invoice's buyer address, a seller's): `__pydantic_config__` and `__post_init__` apply there.


@dataclass(frozen=True, kw_only=True)
class Person:
    email: str
    name: str

    @property
    def key(self) -> str:
        return normalize_email(self.email)


@dataclass(frozen=True, kw_only=True)
class Product:
    code: str
    name: str


@dataclass(frozen=True, kw_only=True)
class PostalAddress:
    """A postal address as an order or a seller's configuration gives it (DESIGN 14.1)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    lines: tuple[str, ...] = ()
    postal_code: str | None = None
    city: str | None = None
    country: str

    def __post_init__(self) -> None:
        if not _ISO_COUNTRY.fullmatch(self.country):
            raise ValueError(f"{self.country!r} is not an ISO 3166-1 alpha-2 country code (e.g. FR)")


@dataclass(frozen=True, kw_only=True)
class Customer:
    id: str
    name: str
    vat_id: str | None = None  # the buyer's, when the order carries it (invoices, reverse charge)
    address: PostalAddress | None = None
    # DESIGN 15.3, as the order (or a correction) gave them; invoices derive what is missing (`buyer_of`)
    siren: str | None = None
    electronic_address: ElectronicAddress | None = None


PaymentType = Literal["invoice", "card"]


@dataclass(frozen=True, kw_only=True)
class PaymentMethod:
    type: PaymentType
    token: str | None = None
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None


@dataclass(frozen=True, kw_only=True)
class ActivationEvidence:
    """What proves the agreement was accepted: kept for as long as the subscription exists."""

    accepted_by: str
    accepted_at: datetime
    agreement_version: str
    ip: str
    user_agent: str
    channel: ActivationChannel


@dataclass(frozen=True, kw_only=True)
class Subscription:
    id: str
    order_id: str
    status: SubscriptionStatus
    product: Product
    country: str
    locale: str
    customer: Customer
    admin: Person
    license_quantity: int
    seats_used: int = 0
    term_months: int
    unit_price: Decimal
    currency: str
    po_number: str | None = None
    payment_method: PaymentMethod
    ordered_at: datetime
    activation_deadline: datetime
    activated_at: datetime | None = None
    next_renewal_date: date | None = None
    cancel_at_renewal: bool = False
    ended_on: date | None = None  # the renewal date a cancellation took effect (status ENDED)
    agreement_version: str
    evidence: ActivationEvidence | None = None
    activation_token_hash: str | None = None
    # The current link's token id (the token is HMAC(secret, id), so the id alone opens nothing): a reminder carries
    # the same link as the email before it, which keeps working.
    activation_token_id: str | None = None
    version: int = 1

    def is_visible_at(self, now: datetime) -> bool:
        """Pending subscriptions vanish at their deadline, before any cleanup has run."""
        return not (self.status is SubscriptionStatus.PENDING_ACTIVATION and now >= self.activation_deadline)

    def role_of(self, email: str, holds_seat: bool) -> Role | None:
        if normalize_email(email) == self.admin.key:
            return Role.ADMIN
        return Role.USER if holds_seat else None

    @property
    def language(self) -> str:
        return language_of(self.locale)

    # -- transitions: each returns the next state and the event that records it (a version never moves without one) --
    def _next(self, actor: str, at: datetime, action: str, details: dict[str, Any], **changes: Any) -> Transition:
        after = replace(self, **changes, version=self.version + 1)
        return after, AuditEvent(subscription_id=self.id, at=at, actor=actor, action=action, details=details)

    def _require(self, status: SubscriptionStatus) -> None:
        if self.status is not status:
            raise Conflict(f"The subscription is {self.status.value}, not {status.value}.")

    def activate(self, evidence: ActivationEvidence, first_renewal: date) -> Transition:
        """Pending -> active on the accepted agreement; `first_renewal` ends the first term (billing.terms)."""
        self._require(SubscriptionStatus.PENDING_ACTIVATION)
        details = {"channel": evidence.channel.value, "agreement_version": evidence.agreement_version}
        return self._next(
            evidence.accepted_by, evidence.accepted_at, "subscription.activated", details,
            status=SubscriptionStatus.ACTIVE, activated_at=evidence.accepted_at, next_renewal_date=first_renewal,
            agreement_version=evidence.agreement_version, evidence=evidence,
        )  # fmt: skip

    def replace_activation_link(self, token_hash: str, token_id: str, actor: str, at: datetime) -> Transition:
        """A new link for the admin (the old one stops working); the history says to whom, never the link."""
        self._require(SubscriptionStatus.PENDING_ACTIVATION)
        details = {"to": self.admin.email}
        return self._next(
            actor, at, "activation_link.resent", details, activation_token_hash=token_hash,
            activation_token_id=token_id,
        )  # fmt: skip

    def renew(self, following: date, actor: str, at: datetime) -> Transition:
        """The term starting on the renewal date begins; `following` is the renewal date that will end it."""
        self._require(SubscriptionStatus.ACTIVE)
        renews_on = self._renewal_date()
        details = {"term_start": renews_on.isoformat(), "next_renewal_date": following.isoformat()}
        return self._next(actor, at, "subscription.renewed", details, next_renewal_date=following)

    def end(self, actor: str, at: datetime) -> Transition:
        """A cancellation takes effect on the renewal date: no next term."""
        self._require(SubscriptionStatus.ACTIVE)
        if not self.cancel_at_renewal:
            raise Conflict("The subscription was not cancelled; it renews.")
        ended_on = self._renewal_date()
        return self._next(
            actor, at, "subscription.ended", {"ended_on": ended_on.isoformat()}, status=SubscriptionStatus.ENDED,
            ended_on=ended_on, next_renewal_date=None,
        )  # fmt: skip

    def _renewal_date(self) -> date:
        if self.next_renewal_date is None:
            raise Conflict("The subscription has no renewal date.")
        return self.next_renewal_date

    def assign_seat(self, holder: Person, actor: str, at: datetime) -> Transition:
        if self.seats_used >= self.license_quantity:
            raise Conflict(f"All {self.license_quantity} seats are assigned. Remove someone first.")
        details = {"email": holder.email, "name": holder.name}
        return self._next(actor, at, "seat.assigned", details, seats_used=self.seats_used + 1)

    def remove_seat(self, holder: Person, actor: str, at: datetime) -> Transition:
        return self._next(actor, at, "seat.removed", {"email": holder.email}, seats_used=self.seats_used - 1)

    def transfer_admin(self, new_admin: Person, actor: str, at: datetime) -> Transition:
        if new_admin.key == self.admin.key:
            raise Conflict(f"{new_admin.email} is already the administrator.")
        details = {"old_admin": self.admin.email, "new_admin": new_admin.email}
        return self._next(actor, at, "admin.transferred", details, admin=new_admin)

    def change_po_number(self, po_number: str | None, actor: str, at: datetime) -> Transition:
        details = {"old": self.po_number, "new": po_number}
        return self._next(actor, at, "po_number.changed", details, po_number=po_number)

    def change_payment_method(self, method: PaymentMethod, actor: str, at: datetime) -> Transition:
        details: dict[str, Any] = {"type": method.type}
        if method.type == "card":
            details.update(brand=method.brand, last4=method.last4)  # never the token: history must hold nothing secret
        return self._next(actor, at, "payment_method.changed", details, payment_method=method)

    def correct_invoice(
        self, customer: Customer, po_number: str | None, actor: str, at: datetime, details: dict[str, Any]
    ) -> Transition:
        """An invoice was corrected (DESIGN 15.2): the corrected customer and PO number stay for later invoices."""
        return self._next(actor, at, "invoice.corrected", details, customer=customer, po_number=po_number)

    def set_cancellation(self, cancel: bool, actor: str, at: datetime) -> Transition:
        action = "cancellation.scheduled" if cancel else "cancellation.withdrawn"
        details = {"renewal_date": str(self.next_renewal_date)}
        return self._next(actor, at, action, details, cancel_at_renewal=cancel)


Transition = tuple[Subscription, AuditEvent]


# -- records: the JSON form stored in DynamoDB (and compared in history details) -------------------------------------
def to_record(value: Any) -> Any:
    """A domain value in its JSON form, as pydantic's `model_dump(mode="json")` wrote it before these were dataclasses
    (so stored items read the same): datetimes ISO 8601 with `Z` for UTC, dates ISO, Decimals as strings, enums by
    value, tuples as lists, every field present (None included)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_record(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, (date, Decimal)):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, (list, tuple)):
        return [to_record(v) for v in value]
    if isinstance(value, dict):
        return {k: to_record(v) for k, v in value.items()}
    return value


def subscription_from_record(record: Mapping[str, Any]) -> Subscription:
    """The inverse of `to_record` for a subscription (extra keys, such as the table's own attributes, are ignored)."""
    r = record
    customer, payment, evidence = r["customer"], r["payment_method"], r.get("evidence")
    address = customer.get("address")
    return Subscription(
        id=r["id"],
        order_id=r["order_id"],
        status=SubscriptionStatus(r["status"]),
        product=Product(code=r["product"]["code"], name=r["product"]["name"]),
        country=r["country"],
        locale=r["locale"],
        customer=Customer(
            id=customer["id"],
            name=customer["name"],
            vat_id=customer.get("vat_id"),
            address=None if address is None else PostalAddress(
                lines=tuple(address.get("lines") or ()),
                postal_code=address.get("postal_code"),
                city=address.get("city"),
                country=address["country"],
            ),
            siren=customer.get("siren"),
            electronic_address=None
            if customer.get("electronic_address") is None
            else ElectronicAddress(**customer["electronic_address"]),
        ),
        admin=Person(email=r["admin"]["email"], name=r["admin"]["name"]),
        license_quantity=int(r["license_quantity"]),
        seats_used=int(r.get("seats_used", 0)),
        term_months=int(r["term_months"]),
        unit_price=Decimal(r["unit_price"]),
        currency=r["currency"],
        po_number=r.get("po_number"),
        payment_method=PaymentMethod(
            type=payment["type"],
            token=payment.get("token"),
            brand=payment.get("brand"),
            last4=payment.get("last4"),
            exp_month=_int_or_none(payment.get("exp_month")),
            exp_year=_int_or_none(payment.get("exp_year")),
        ),
        ordered_at=_moment(r["ordered_at"]),
        activation_deadline=_moment(r["activation_deadline"]),
        activated_at=_moment_or_none(r.get("activated_at")),
        next_renewal_date=_day_or_none(r.get("next_renewal_date")),
        cancel_at_renewal=bool(r.get("cancel_at_renewal", False)),
        ended_on=_day_or_none(r.get("ended_on")),
        agreement_version=r["agreement_version"],
        evidence=None if evidence is None else ActivationEvidence(
            accepted_by=evidence["accepted_by"],
            accepted_at=_moment(evidence["accepted_at"]),
            agreement_version=evidence["agreement_version"],
            ip=evidence["ip"],
            user_agent=evidence["user_agent"],
            channel=ActivationChannel(evidence["channel"]),
        ),
        activation_token_hash=r.get("activation_token_hash"),
        activation_token_id=r.get("activation_token_id"),
        version=int(r.get("version", 1)),
    )


def _moment(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))


def _moment_or_none(value: str | datetime | None) -> datetime | None:
    return None if value is None else _moment(value)


def _day_or_none(value: str | date | None) -> date | None:
    return value if value is None or isinstance(value, date) else date.fromisoformat(value)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def normalize_email(email: str) -> str:
    """Addresses are validated ASCII (orders, seats, tokens), so lower-casing is the whole case-insensitivity."""
    return email.strip().lower()


def language_of(locale: str) -> str:
    return locale.split("-")[0].lower() if locale else "en"


def activation_deadline(ordered_at: datetime) -> datetime:
    return ordered_at + ACTIVATION_WINDOW


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)  # room for any deadline, term or retention added to a parsed moment


def parse_utc(text: str) -> datetime:
    """An ISO 8601 timestamp with a zone, in UTC. ValueError (never OverflowError) for anything else: year 1 or 9999
    with an offset cannot even be converted, and a moment near them overflows once a deadline is added."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not an ISO 8601 timestamp such as 2026-11-26T09:30:00Z") from None
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a time zone (e.g. 'Z')")
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        value = EARLIEST - timedelta(days=1)  # only ever out of range at either end
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"timestamp must be between {EARLIEST.year} and {LATEST.year - 1}")
    return value


_INVISIBLE = frozenset(
    [0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0, *range(0x180B, 0x1810), *range(0xFE00, 0xFE10)]
)
_NO_BREAK_SPACES = str.maketrans({"\u00a0": " ", "\u2007": " ", "\u202f": " "})


def tidy_text(text: str) -> str:
    """No-break spaces (common in French names) become plain spaces; surrounding blanks go."""
    return text.translate(_NO_BREAK_SPACES).strip()


def is_printable(text: str) -> bool:
    """Letters, digits, punctuation and the ASCII space: no control, format (bidi, zero-width), surrogate,
    line-separator or other invisible characters, which could hide text, break headers or fail to encode."""
    if not text.isprintable():
        return False
    combining = 0
    for char in text:
        code = ord(char)
        if code in _INVISIBLE or 0xE0000 <= code <= 0xE0FFF:
            return False
        combining = combining + 1 if unicodedata.combining(char) else 0
        if combining > 3:  # stacked marks ("zalgo") that overwrite neighbouring text
            return False
    return True


@dataclass(frozen=True)
class OrderRecord:
    """An order id's record: which subscription it created, and whether that was removed unactivated."""

    order_id: str
    subscription_id: str
    removed: bool


@dataclass(frozen=True)
class ExpiredOrder:
    """A pending subscription past its deadline, as the sparse deadline index lists it."""

    subscription_id: str
    order_id: str
    admin_key: str
