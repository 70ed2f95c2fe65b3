"""Sellers (DESIGN 14.1): each country's selling company, as configured, and the catalogue intake consults."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import Field, ValidationError, ValidationInfo, field_serializer, field_validator, model_validator

from chalicelib.domain.billing.formatting import DEFAULT_LANGUAGE
from chalicelib.domain.billing.frozen import Frozen
from chalicelib.domain.billing.money import TWO_PLACES
from chalicelib.domain.identifiers import ElectronicAddress, siren_problem
from chalicelib.domain.models import PostalAddress

# UNTDID 4451 subject codes a note may carry (BT-21), as the French reform uses them (BR-FR-05: every French invoice
# states PMD, PMT and AAB): late-payment penalties, the recovery indemnity, early-payment discount.
NOTE_SUBJECTS = {
    "PMD": "late-payment penalties",
    "PMT": "fixed recovery indemnity",
    "AAB": "early-payment discount (or its absence)",
    "REG": "regulatory information (company capital, register)",
    "AAI": "general information",
}
FRENCH_REQUIRED_SUBJECTS = ("PMD", "PMT", "AAB")


class LegalMention(Frozen):
    """A legal mention as the document states it: its text (BT-22) and, where the mention is one the e-invoice
    qualifies, its subject code (BT-21). The sellers file writes a plain string or {"subject", "text"}."""

    text: str = Field(min_length=1)
    subject: str | None = None

    @field_validator("subject")
    @classmethod
    def _known_subject(cls, value: str | None) -> str | None:
        if value is not None and value not in NOTE_SUBJECTS:
            raise ValueError(f"subject {value!r} is not one of {', '.join(NOTE_SUBJECTS)}")
        return value


LegalMentions = tuple[tuple[str, tuple[LegalMention, ...]], ...]
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


class SellerContact(Frozen):
    """Who the buyer's accounts payable call about an invoice (BT-41 name, BT-42 phone, BT-43 email)."""

    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=1, max_length=40)
    email: str | None = None


class ExchangeRate(Frozen):
    """Units of the accounting currency for one unit of `currency`, from `valid_from` on (BT-111: the VAT of an
    invoice in another currency, stated in the accounting currency at the rate of its issue date)."""

    currency: str
    valid_from: date
    rate: Decimal

    @field_validator("rate")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or value <= 0:
            raise ValueError("an exchange rate is a positive decimal string, e.g. \"0.9150\"")
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
    # DESIGN 15.3: the reform's data. Optional in the model so that the records of invoices issued before it still
    # load; `load_sellers` requires what a seller's country needs.
    siren: str | None = None  # France: BT-30 with scheme 0002
    siret: str | None = None
    electronic_address: ElectronicAddress | None = None  # BT-34
    contact: SellerContact | None = None  # BG-6
    accounting_currency: str = "EUR"
    currencies: tuple[str, ...] = ()  # what it invoices in; empty on old records (then: the accounting currency)
    exchange_rates: tuple[ExchangeRate, ...] = ()
    vat_on_debits: bool = False  # France: "option pour le paiement de la taxe d'après les débits"

    @field_validator("siren")
    @classmethod
    def _siren(cls, value: str | None) -> str | None:
        problem = siren_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("siret")
    @classmethod
    def _siret(cls, value: str | None) -> str | None:
        from stdnum.fr import siret

        if value is not None and not (re.fullmatch(r"[0-9]{14}", value) and siret.is_valid(value)):
            raise ValueError(f"{value!r} is not a valid SIRET (14 digits, check digit)")
        return value

    @model_validator(mode="after")
    def _rates_for_foreign_currencies(self) -> Seller:
        if self.siret is not None and self.siren is not None and not self.siret.startswith(self.siren):
            raise ValueError("the SIRET does not start with the SIREN")
        rated = {rate.currency for rate in self.exchange_rates}
        missing = sorted(set(self.currencies) - rated - {self.accounting_currency})
        if missing:
            raise ValueError(
                f"exchange_rates needs a rate to {self.accounting_currency} for {', '.join(missing)}: the VAT of an "
                "invoice in another currency is also stated in the accounting currency"
            )
        return self

    @model_validator(mode="after")
    def _each_subject_once(self) -> Seller:
        for language, mentions in self.legal_mentions:
            subjects = [mention.subject for mention in mentions if mention.subject is not None]
            repeated = sorted({code for code in subjects if subjects.count(code) > 1})
            if repeated:  # BR-FR-06: one note per subject code
                raise ValueError(f"legal_mentions.{language} gives the subject {', '.join(repeated)} twice")
        return self

    def invoices_in(self, currency: str) -> bool:
        return currency in (self.currencies or (self.accounting_currency,))

    def exchange_rate(self, currency: str, on: date) -> ExchangeRate | None:
        """The rate in force on `on` (the latest `valid_from` not after it), or None."""
        applicable = [rate for rate in self.exchange_rates if rate.currency == currency and rate.valid_from <= on]
        return max(applicable, key=lambda rate: rate.valid_from, default=None)

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
        # The sellers file and the records of issued invoices write {"fr": ["...", {"subject", "text"}], ...}; the
        # records written before subject codes hold plain strings.
        if isinstance(value, Mapping):
            value = tuple(value.items())
        if not isinstance(value, (list, tuple)):
            return value  # pydantic says what is wrong

        def coded(mentions: Any) -> Any:
            if not isinstance(mentions, (list, tuple)):
                return mentions
            return tuple({"text": item} if isinstance(item, str) else item for item in mentions)

        return tuple(
            (pair[0], coded(pair[1])) if isinstance(pair, (list, tuple)) and len(pair) == 2 else pair for pair in value
        )

    @field_serializer("legal_mentions")
    def _mentions_as_mapping(self, value: LegalMentions) -> dict[str, list[Any]]:
        # the record keeps the file's shape: a mention without a subject stays a plain string
        return {
            language: [
                mention.text if mention.subject is None else {"subject": mention.subject, "text": mention.text}
                for mention in mentions
            ]
            for language, mentions in value
        }

    def coded_mentions(self, language: str) -> tuple[LegalMention, ...]:
        """The legal mentions in the invoice's language, else English, else the first language configured."""
        by_language = dict(self.legal_mentions)
        for candidate in (language, DEFAULT_LANGUAGE):
            if candidate in by_language:
                return by_language[candidate]
        return next(iter(by_language.values()), ())

    def mentions(self, language: str) -> tuple[str, ...]:
        """The texts of `coded_mentions`, as the PDF prints them."""
        return tuple(mention.text for mention in self.coded_mentions(language))


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
        missing = _missing_reform_data(seller)
        if missing:
            raise ValueError(f"seller {label}: {missing}")
        sellers[seller.country] = seller
    return sellers


def _missing_reform_data(seller: Seller) -> str | None:
    """What a configured seller must state on every document (DESIGN 15.3) and lacks."""
    if seller.contact is None:
        return "contact (name and phone, BT-41/BT-42) is required"
    if not seller.currencies:
        return "currencies (what it invoices in) is required"
    if seller.country == "FR" and seller.siren is None:
        return "siren is required for a French seller (BT-30)"
    if seller.country == "FR":
        for language, mentions in seller.legal_mentions:
            stated = {mention.subject for mention in mentions}
            missing = [code for code in FRENCH_REQUIRED_SUBJECTS if code not in stated]
            if missing:
                return (
                    f"legal_mentions.{language} needs a mention with each subject {', '.join(missing)} (BR-FR-05: "
                    + "; ".join(f"{code} {NOTE_SUBJECTS[code]}" for code in missing)
                    + ")"
                )
    if seller.electronic_address is None and (seller.country == "FR" or seller.einvoice.syntax == "ubl"):
        return "electronic_address is required (BT-34) for a French seller and for UBL (Peppol)"
    return None


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
