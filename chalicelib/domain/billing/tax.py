"""VAT (DESIGN 14.1, 15.3): the treatment of a sale (category, rate, exemption reason) and the breakdown per category
and rate with EN 16931's rounding (BG-23: the tax of each group rounded once, from the sum of its line nets)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from chalicelib.domain.billing.formatting import DEFAULT_LANGUAGE, invoice_language
from chalicelib.domain.billing.frozen import Frozen
from chalicelib.domain.billing.money import TWO_PLACES, round_money

# EU member states (ISO 3166-1 alpha-2; Greece is GR here, "EL" only in VAT numbers). GB left in 2020; CH, NO, IS, LI
# are not members: invoices to them are never reverse-charged under the EU rule.
EU_MEMBER_STATES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip

VatCategory = Literal["S", "Z", "E", "AE", "K", "G", "O", "L", "M"]
"""UNTDID 5305 as EN 16931 restricts it (BT-118, BT-151): S standard rate, Z zero rated, E exempt, AE reverse charge,
K intra-community supply, G export, O outside the scope of VAT, L and M the Canary Islands and Ceuta/Melilla taxes."""

ZERO_RATE_CATEGORIES: frozenset[VatCategory] = frozenset({"Z", "E", "AE", "K", "G", "O"})
EXEMPT_CATEGORIES: frozenset[VatCategory] = frozenset({"E", "AE", "K", "G", "O"})  # EN 16931 BR-x-10: a reason

REVERSE_CHARGE_CODE = "VATEX-EU-AE"
# The same sentences as `invoice.reverse_charge` in templates/i18n/billing_<lang>.json (tests/test_billing_document.py
# compares them): the PDF prints those, the domain states the same reason.
_REVERSE_CHARGE_TEXT = {
    "en": "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC).",
    "fr": "Autoliquidation\u00a0: TVA due par le preneur "
    "(article 196 de la directive 2006/112/CE\u00a0; article 283-2 du CGI).",
    "de": "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge, Art. 196 MwSt-Systemrichtlinie 2006/112/EG).",
}


class Exemption(Frozen):
    """Why no VAT is charged (BT-120 text, BT-121 VATEX code)."""

    code: str
    text: str


def reverse_charge_exemption(language: str) -> Exemption:
    text = _REVERSE_CHARGE_TEXT.get(invoice_language(language), _REVERSE_CHARGE_TEXT[DEFAULT_LANGUAGE])
    return Exemption(code=REVERSE_CHARGE_CODE, text=text)


@dataclass(frozen=True)
class VatTreatment:
    category: VatCategory
    rate: Decimal  # a percentage with 2 decimals ("20.00")
    exemption: Exemption | None

    @property
    def reverse_charge(self) -> bool:
        return self.category == "AE"


def is_reverse_charge(seller_country: str, buyer_address_country: str | None, buyer_vat_id: str | None) -> bool:
    """Intra-EU B2B (DESIGN 14.1): both in the EU, different countries, and the buyer's VAT id is known."""
    return (
        buyer_address_country is not None
        and bool(buyer_vat_id and buyer_vat_id.strip())
        and seller_country in EU_MEMBER_STATES
        and buyer_address_country in EU_MEMBER_STATES
        and seller_country != buyer_address_country
    )


def vat_treatment(
    seller_country: str, seller_rate: Decimal, buyer_address_country: str | None, buyer_vat_id: str | None,
    language: str,
) -> VatTreatment:  # fmt: skip
    """The one place a sale's VAT treatment is decided (invoices, and the renewal reminder's announced total)."""
    if is_reverse_charge(seller_country, buyer_address_country, buyer_vat_id):
        return VatTreatment("AE", Decimal("0.00"), reverse_charge_exemption(language))
    rate = seller_rate.quantize(TWO_PLACES)
    return VatTreatment("S" if rate > 0 else "Z", rate, None)  # EN 16931 BR-S-05: S is never at 0 %


def check_treatment(category: VatCategory, rate: Decimal, exemption: Exemption | None) -> None:
    """EN 16931's per-category rules on a line or a breakdown entry (BR-S-05, BR-AE-05, BR-x-10 and the like)."""
    if not rate.is_finite() or rate < 0 or rate != rate.quantize(TWO_PLACES):
        raise ValueError(f"VAT rate {rate} must be a non-negative percentage with at most 2 decimals")
    if category == "S" and rate == 0:
        raise ValueError("category S (standard rate) needs a rate above 0")
    if category in ZERO_RATE_CATEGORIES and rate != 0:
        raise ValueError(f"category {category} carries a 0 rate, not {rate}")
    if category in EXEMPT_CATEGORIES and exemption is None:
        raise ValueError(f"category {category} needs an exemption reason (code and text)")
    if category not in EXEMPT_CATEGORIES and exemption is not None:
        raise ValueError(f"category {category} carries no exemption reason")


class TaxSubtotal(Frozen):
    """One entry of the VAT breakdown (BG-23): the lines of one category and rate."""

    category: VatCategory
    rate: Decimal
    taxable_amount: Decimal  # BT-116: the sum of the line nets of the group
    tax_amount: Decimal  # BT-117: taxable x rate, rounded once for the group
    exemption: Exemption | None = None


@dataclass(frozen=True)
class Taxed:
    """What the breakdown needs of a line."""

    net: Decimal
    category: VatCategory
    rate: Decimal
    exemption: Exemption | None


def vat_breakdown(lines: Iterable[Taxed], currency: str) -> tuple[TaxSubtotal, ...]:
    """One entry per (category, rate), in the order the groups first appear; tax rounded per entry (EN 16931 BR-CO-17
    with the tolerance removed: round once, per group, never per line)."""
    groups: dict[tuple[VatCategory, Decimal], list[Taxed]] = {}
    for line in lines:
        groups.setdefault((line.category, line.rate), []).append(line)
    entries = []
    for (category, rate), members in groups.items():
        reasons = {member.exemption for member in members}
        if len(reasons) > 1:
            raise ValueError(f"the lines of category {category} at {rate} % give different exemption reasons")
        taxable = sum((member.net for member in members), Decimal("0.00"))
        entries.append(
            TaxSubtotal(
                category=category,
                rate=rate,
                taxable_amount=taxable.quantize(TWO_PLACES),
                tax_amount=round_money(taxable * rate / Decimal(100), currency),
                exemption=reasons.pop(),
            )
        )
    return tuple(entries)
