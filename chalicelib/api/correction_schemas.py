"""The body of POST /subscriptions/{id}/invoices/{invoice_id}/correction (DESIGN 15.2), checked with the validators
intake uses for an order's customer and PO number (split from schemas.py, which names it for its route)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.api.history_schemas import Omitted, omitted_when_absent
from chalicelib.domain import orders
from chalicelib.domain.identifiers import MAX_ADDRESS_ID_LENGTH
from chalicelib.domain.validators import (
    MAX_ADDRESS_LINES,
    MAX_NAME_LENGTH,
    MAX_PO_LENGTH,
    MAX_POSTAL_CODE_LENGTH,
    clean_document_text,
    clean_text,
    validate_electronic_address,
    validate_po_number,
    validate_postal_code,
    validate_siren,
    validate_vat_id,
)

if TYPE_CHECKING:
    from chalicelib.domain.billing.correction import Correction


def _checked_by_the_server(*, required: bool = True, **rules: Any) -> Any:
    """Rules the field's own validator enforces, shown in the document (on a nullable field, on its string branch);
    a key that is not `required` is None when the body leaves it out."""

    def show(schema: dict[str, Any]) -> None:
        schema.pop("default", None)  # left out is "unchanged", never a null default
        target = next((branch for branch in schema.get("anyOf", []) if branch.get("type") == "string"), schema)
        target.update(rules)

    return Field(json_schema_extra=show) if required else Field(default=None, json_schema_extra=show)


def _omitted_when_absent(**rules: Any) -> Any:
    """A key the body may leave out but never send as null, with the rules its validator enforces."""

    def show(schema: dict[str, Any]) -> None:
        omitted_when_absent(schema)
        schema.update(rules)

    return Field(default=None, json_schema_extra=show)


MAX_VAT_ID_INPUT_LENGTH = 32  # a VAT id as people type it, with spaces, dots or hyphens (15 characters once compact)


MAX_SIREN_INPUT_LENGTH = 11  # "732 829 320"


def _bounded(value: str, what: str, limit: int) -> str:
    if len(value) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    return value


class CorrectionAddressIn(BaseModel):
    """The buyer's postal address, checked as intake checks an order's."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    lines: list[Annotated[str, _checked_by_the_server(maxLength=MAX_NAME_LENGTH)]] = Field(
        default_factory=list, max_length=MAX_ADDRESS_LINES
    )
    postal_code: str | None = _checked_by_the_server(required=False, maxLength=MAX_POSTAL_CODE_LENGTH)
    city: str | None = _checked_by_the_server(required=False, maxLength=MAX_NAME_LENGTH)
    country: str = _checked_by_the_server(pattern="^[A-Z]{2}$", maxLength=2)

    _lines = field_validator("lines")(lambda cls, v: [clean_document_text(line, "address line") for line in v])
    _postal_code = field_validator("postal_code")(lambda cls, v: v if v is None else validate_postal_code(v))
    _city = field_validator("city")(lambda cls, v: v if v is None else clean_document_text(v, "city"))
    _country = field_validator("country")(lambda cls, v: orders._country(v))  # intake's own check


class ElectronicAddressIn(BaseModel):
    """Where the buyer receives e-invoices (EN 16931 BT-49): an EAS scheme and an identifier."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    scheme: str = _checked_by_the_server(
        pattern="^(?:[0-9]{4}|EM)$", maxLength=4, description="EAS code: 0225 (France), 0208 (Belgium), 9930 (Germany)"
    )
    id: str = _checked_by_the_server(minLength=1, maxLength=MAX_ADDRESS_ID_LENGTH)

    @model_validator(mode="after")
    def _address(self) -> ElectronicAddressIn:
        validate_electronic_address({"scheme": self.scheme, "id": self.id})
        return self


class CorrectionBuyerIn(BaseModel):
    """The buyer's details that were wrong; a key left out keeps the invoice's value, null removes a VAT id or
    SIREN."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    name: str = _omitted_when_absent(minLength=1, maxLength=MAX_NAME_LENGTH)
    address: CorrectionAddressIn = Omitted()
    vat_id: str | None = _checked_by_the_server(required=False, maxLength=MAX_VAT_ID_INPUT_LENGTH)
    siren: str | None = _checked_by_the_server(
        required=False, pattern="^[0-9 ]{9,11}$", maxLength=MAX_SIREN_INPUT_LENGTH
    )
    electronic_address: ElectronicAddressIn | None = _checked_by_the_server(required=False)

    _name = field_validator("name")(lambda cls, v: clean_document_text(v, "name"))
    _vat_id = field_validator("vat_id")(
        lambda cls, v: v if v is None else validate_vat_id(_bounded(v, "VAT id", MAX_VAT_ID_INPUT_LENGTH))
    )
    _siren = field_validator("siren")(
        lambda cls, v: v if v is None else validate_siren(_bounded(v, "SIREN", MAX_SIREN_INPUT_LENGTH))
    )


class InvoiceCorrectionIn(BaseModel):
    """POST .../invoices/{invoice_id}/correction (DESIGN 15.2): why, and what the replacement states differently. A
    key left out keeps the invoice's value; `po_number` null (or blank) removes the PO number."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    reason: str = _checked_by_the_server(minLength=1, maxLength=MAX_NAME_LENGTH)
    po_number: str | None = _checked_by_the_server(required=False, maxLength=MAX_PO_LENGTH)
    buyer: CorrectionBuyerIn = Omitted()

    _reason = field_validator("reason")(lambda cls, v: clean_text(v, "reason"))

    @field_validator("po_number")
    @classmethod
    def _po(cls, value: str | None) -> str | None:
        return validate_po_number(value.strip() if value else None) or None

    def correction(self) -> Correction:
        from chalicelib.domain.billing.correction import KEEP, Correction
        from chalicelib.domain.identifiers import ElectronicAddress
        from chalicelib.domain.models import PostalAddress

        buyer = self.buyer if "buyer" in self.model_fields_set else None
        given = buyer.model_fields_set if buyer is not None else set()
        address = buyer.address if buyer is not None and "address" in given else None
        electronic = buyer.electronic_address if buyer is not None else None
        return Correction(
            reason=self.reason,
            po_number=self.po_number if "po_number" in self.model_fields_set else KEEP,
            buyer_name=buyer.name if buyer is not None and "name" in given else KEEP,
            buyer_address=KEEP if address is None else PostalAddress(
                lines=tuple(address.lines), postal_code=address.postal_code, city=address.city,
                country=address.country,
            ),
            buyer_vat_id=buyer.vat_id if buyer is not None and "vat_id" in given else KEEP,
            buyer_siren=buyer.siren if buyer is not None and "siren" in given else KEEP,
            buyer_electronic_address=(
                KEEP if buyer is None or "electronic_address" not in given
                else None if electronic is None
                else ElectronicAddress(scheme=electronic.scheme, id=electronic.id)
            ),
        )  # fmt: skip
