"""Sellers (DESIGN 14.1): each country's selling company, as configured, and the catalogue intake consults."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import Field, ValidationError, ValidationInfo, field_serializer, field_validator

from chalicelib.domain.billing.formatting import DEFAULT_LANGUAGE
from chalicelib.domain.billing.frozen import Frozen
from chalicelib.domain.billing.money import TWO_PLACES
from chalicelib.domain.models import PostalAddress

LegalMentions = tuple[tuple[str, tuple[str, ...]], ...]
"""(language, mentions) pairs in the configured order: a frozen `Seller` holds no mutable dict."""


EINVOICE_CHOICES = {"syntax": ("factur-x", "ubl"), "channel": ("email", "flow_service")}


class EInvoiceSettings(Frozen):
    """How the seller's documents are written and where they go (DESIGN 15.4, 16.1)."""

    syntax: str = "factur-x"
    channel: str = "email"

    @field_validator("syntax", "channel")
    @classmethod
    def _one_of_the_choices(cls, value: str, info: ValidationInfo) -> str:
        choices = EINVOICE_CHOICES[str(info.field_name)]
        if value not in choices:
            raise ValueError(f"einvoice.{info.field_name} must be one of {', '.join(choices)}, not {value!r}")
        return value


class Seller(Frozen):
    """A country's selling company, as configured (DESIGN 14.1)."""

    country: str
    name: str
    address: PostalAddress
    vat_id: str
    registration: str
    vat_rate: Decimal
    payment_terms_days: int = Field(ge=0, le=365)
    iban: str
    bic: str
    bank_name: str | None = None
    legal_mentions: LegalMentions = ()
    email: str | None = None
    phone: str | None = None
    einvoice: EInvoiceSettings = EInvoiceSettings()

    @field_validator("vat_rate")
    @classmethod
    def _rate(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or not Decimal(0) <= value < Decimal(100):
            raise ValueError("vat_rate must be a percentage from 0 to below 100, e.g. \"20.00\"")
        if value != value.quantize(TWO_PLACES):
            raise ValueError("vat_rate has at most 2 decimals, e.g. \"8.10\"")
        return value.quantize(TWO_PLACES)

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        compact = value.replace(" ", "").upper()
        if not iban_is_valid(compact):
            raise ValueError(f"{value!r} is not a valid IBAN (checksum)")
        return compact

    @field_validator("bic")
    @classmethod
    def _bic(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?", value):
            raise ValueError(f"{value!r} is not a BIC (8 or 11 letters/digits)")
        return value

    @field_validator("legal_mentions", mode="before")
    @classmethod
    def _mentions_by_language(cls, value: Any) -> Any:
        # The sellers file and the records of issued invoices write {"fr": [...], ...}.
        return tuple(value.items()) if isinstance(value, Mapping) else value

    @field_serializer("legal_mentions")
    def _mentions_as_mapping(self, value: LegalMentions) -> dict[str, list[str]]:
        return {language: list(mentions) for language, mentions in value}  # the record keeps the file's shape

    def mentions(self, language: str) -> tuple[str, ...]:
        """The legal mentions in the invoice's language, else English, else the first language configured."""
        by_language = dict(self.legal_mentions)
        for candidate in (language, DEFAULT_LANGUAGE):
            if candidate in by_language:
                return by_language[candidate]
        return next(iter(by_language.values()), ())


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check (country code, 2 check digits, up to 30 letters/digits)."""
    compact = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


class SellerCatalog:
    """The configured sellers by country (DESIGN 14.1). A country without a seller answers None: intake rejects it."""

    def __init__(self, sellers: Mapping[str, Seller]) -> None:
        self._sellers = dict(sellers)

    def get(self, country: str) -> Seller | None:
        return self._sellers.get(country)

    def countries(self) -> frozenset[str]:
        return frozenset(self._sellers)


def load_sellers(json_text: str) -> dict[str, Seller]:
    """Parse a sellers file: `{"sellers": [{"country": "FR", ...}, ...]}` (other top-level keys are notes).
    Raises ValueError naming the seller and the field when the configuration is wrong."""
    try:
        document = json.loads(json_text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"sellers configuration is not JSON: {exc}") from None
    entries = document.get("sellers") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError('sellers configuration needs a non-empty "sellers" list')
    sellers: dict[str, Seller] = {}
    for position, entry in enumerate(entries):
        label = entry.get("country", f"#{position}") if isinstance(entry, dict) else f"#{position}"
        try:
            seller = Seller.model_validate(_as_seller_input(entry))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"seller {label}: {problems}") from None
        if seller.country != seller.address.country:
            raise ValueError(f"seller {label}: country differs from its address country {seller.address.country}")
        if seller.country in sellers:
            raise ValueError(f"seller {label} is configured twice")
        sellers[seller.country] = seller
    return sellers


def _as_seller_input(entry: Any) -> Any:
    """vat_rate must be a decimal string in the file ("20.00"), never a float that may not be exact."""
    if isinstance(entry, dict) and "vat_rate" in entry:
        rate = entry["vat_rate"]
        if not isinstance(rate, str):
            raise ValueError(f"seller {entry.get('country')}: vat_rate must be a decimal string such as \"20.00\"")
        try:
            Decimal(rate)
        except InvalidOperation:
            raise ValueError(f"seller {entry.get('country')}: vat_rate {rate!r} is not a number") from None
    return entry
