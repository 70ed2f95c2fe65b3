"""The history's lines (DESIGN 5.2 `GET /subscriptions/{id}/history`): one schema per action, told apart by `action`
(a constant in each), each with the shape of its `details`. `AUDIT_ACTIONS` (domain) is the closed list; a test checks
that every action has its schema here."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.models import ActivationChannel, PaymentType


def omitted_when_absent(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of an optional key the server leaves out rather than sending null: the document shows it
    not required, never null and without `default: null` (which generators read as "always present")."""
    schema.pop("default", None)
    branches = [branch for branch in schema.pop("anyOf", []) if branch != {"type": "null"}]
    if branches:
        schema.update(branches[0])


def Omitted(**constraints: Any) -> Any:
    return Field(default=None, json_schema_extra=omitted_when_absent, **constraints)


# Every moment the API sends is `utc_iso`'s (UTC, milliseconds, `Z`), every day `date.isoformat()`'s: the document
# says so with the format and the exact pattern, so a client can parse them with one rule.
TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
Timestamp = Annotated[str, Field(json_schema_extra={
    "format": "date-time", "pattern": TIMESTAMP_PATTERN, "examples": ["2026-11-26T10:00:00.000Z"]})]
Day = Annotated[str, Field(json_schema_extra={"format": "date", "pattern": DAY_PATTERN, "examples": ["2027-11-26"]})]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class ActivatedDetails(_Out):
    channel: ActivationChannel
    agreement_version: str


class SeatAssignedDetails(_Out):
    email: str
    name: str


class SeatRemovedDetails(_Out):
    email: str


class AdminTransferredDetails(_Out):
    old_admin: str
    new_admin: str


class PoNumberChangedDetails(_Out):
    old: str | None
    new: str | None


class PaymentMethodChangedDetails(_Out):
    type: PaymentType
    brand: str | None = Omitted()
    last4: str | None = Omitted()


class CancellationDetails(_Out):
    renewal_date: Day


class RenewedDetails(_Out):
    term_start: Day
    next_renewal_date: Day


class EndedDetails(_Out):
    ended_on: Day


class EmailNoticeDetails(_Out):
    """What the mail provider reported (a bounce's type and diagnostic, or a complaint's feedback type)."""

    recipients: list[str]
    bounce_type: str | None = Omitted()
    bounce_subtype: str | None = Omitted()
    diagnostic: str | None = Omitted()
    feedback_type: str | None = Omitted()
    email: str | None = Omitted(description="the kind of portal email it was about")
    mail_id: str | None = Omitted()
    reported_at: Timestamp | None = Omitted()


class ActivationLinkResentDetails(_Out):
    to: str = Field(description="the administrator the new link was sent to (the link itself is never recorded)")


class DocumentRefOut(_Out):
    id: str
    number: str


class CorrectedTermOut(_Out):
    old: Any
    new: Any


class InvoiceCorrectedDetails(_Out):
    invoice: DocumentRefOut
    credit_note: DocumentRefOut
    replacement: DocumentRefOut
    reason: str
    changes: dict[str, CorrectedTermOut] = Field(
        description="what the replacement states differently: `po_number`, `buyer.name`, `buyer.address`, ..."
    )
    customer: dict[str, Any] = Field(
        description="the customer's values the correction set for later invoices (siren, electronic_address included)"
    )


class _Event(_Out):
    at: Timestamp
    actor: str
    action: str
    details: Any


class HistoryActivated(_Event):
    action: Literal["subscription.activated"]
    details: ActivatedDetails


class HistorySeatAssigned(_Event):
    action: Literal["seat.assigned"]
    details: SeatAssignedDetails


class HistorySeatRemoved(_Event):
    action: Literal["seat.removed"]
    details: SeatRemovedDetails


class HistoryAdminTransferred(_Event):
    action: Literal["admin.transferred"]
    details: AdminTransferredDetails


class HistoryPoNumberChanged(_Event):
    action: Literal["po_number.changed"]
    details: PoNumberChangedDetails


class HistoryPaymentMethodChanged(_Event):
    action: Literal["payment_method.changed"]
    details: PaymentMethodChangedDetails


class HistoryCancellationScheduled(_Event):
    action: Literal["cancellation.scheduled"]
    details: CancellationDetails


class HistoryCancellationWithdrawn(_Event):
    action: Literal["cancellation.withdrawn"]
    details: CancellationDetails


class HistoryRenewed(_Event):
    action: Literal["subscription.renewed"]
    details: RenewedDetails


class HistoryEnded(_Event):
    action: Literal["subscription.ended"]
    details: EndedDetails


class HistoryEmailBounced(_Event):
    action: Literal["email.bounced"]
    details: EmailNoticeDetails


class HistoryEmailComplained(_Event):
    action: Literal["email.complained"]
    details: EmailNoticeDetails


class HistoryActivationLinkResent(_Event):
    action: Literal["activation_link.resent"]
    details: ActivationLinkResentDetails


class HistoryInvoiceCorrected(_Event):
    action: Literal["invoice.corrected"]
    details: InvoiceCorrectedDetails


HistoryEventOut = Annotated[
    HistoryActivated | HistorySeatAssigned | HistorySeatRemoved | HistoryAdminTransferred | HistoryPoNumberChanged
    | HistoryPaymentMethodChanged | HistoryCancellationScheduled | HistoryCancellationWithdrawn | HistoryRenewed
    | HistoryEnded | HistoryEmailBounced | HistoryEmailComplained | HistoryActivationLinkResent
    | HistoryInvoiceCorrected,
    Field(discriminator="action"),
]


class HistoryOut(_Out):
    items: list[HistoryEventOut]
    next_cursor: str | None
