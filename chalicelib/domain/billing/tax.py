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
OUTSIDE_SCOPE_CODE = "VATEX-EU-O"
EXEMPTION_CODES: dict[VatCategory, str] = {"AE": REVERSE_CHARGE_CODE, "O": OUTSIDE_SCOPE_CODE}

# Territories that share a seller country's VAT area (a buyer there is domestic): Monaco is in the French VAT
# territory (CGI art. 256 and the 1963 Franco-Monegasque convention), Liechtenstein in the Swiss one (MWSTG art. 3),
# the Isle of Man in the United Kingdom's (VATA 1994 and the Isle of Man customs arrangement).
SAME_VAT_AREA = {"FR": frozenset({"MC"}), "CH": frozenset({"LI"}), "GB": frozenset({"IM"})}

# The legal basis each seller country cites (DESIGN 15.3): its own for FR, DE, CH and GB; the Directive for the
# other EU sellers. Keys of the texts below and of `invoice.vat_exemption_<basis>_<category>` in
# templates/i18n/billing_<lang>.json (tests/test_billing_document.py compares them): the PDF prints those, the
# domain states the same reason in the e-invoice (BT-120).
_OWN_BASIS = frozenset({"FR", "DE", "CH", "GB"})
_EXEMPTION_TEXT: dict[tuple[str, VatCategory], dict[str, str]] = {
    ("FR", "AE"): {
        "fr": "Autoliquidation\u00a0: TVA due par le preneur (article 196 de la directive 2006/112/CE\u00a0; "
        "article 259-1 du CGI).",
        "en": "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC; "
        "Article 259-1 of the French General Tax Code).",
        "de": "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge, Art. 196 MwSt-Systemrichtlinie "
        "2006/112/EG; Art. 259-1 CGI).",
    },
    ("FR", "O"): {
        "fr": "TVA non applicable, article 259-1 du CGI\u00a0: prestation de services à un preneur assujetti établi "
        "hors de l'Union européenne.",
        "en": "Not subject to French VAT (Article 259-1 of the French General Tax Code): service supplied to a "
        "business established outside the European Union.",
        "de": "Nicht der französischen Mehrwertsteuer unterliegend (Art. 259-1 CGI): Leistung an einen Unternehmer "
        "mit Sitz außerhalb der Europäischen Union.",
    },
    ("DE", "AE"): {
        "de": "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG; Art. 196 MwSt-Systemrichtlinie "
        "2006/112/EG).",
        "en": "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC; "
        "section 13b UStG).",
        "fr": "Autoliquidation\u00a0: TVA due par le preneur (article 196 de la directive 2006/112/CE\u00a0; "
        "§ 13b UStG).",
    },
    ("DE", "O"): {
        "de": "Nicht im Inland steuerbare Leistung (§ 3a Abs. 2 UStG): Leistungsempfänger ist ein Unternehmer mit "
        "Sitz außerhalb der Europäischen Union.",
        "en": "Not subject to German VAT (section 3a (2) UStG): service supplied to a business established outside "
        "the European Union.",
        "fr": "Opération non soumise à la TVA allemande (§ 3a, al. 2 UStG)\u00a0: prestation de services à un "
        "preneur assujetti établi hors de l'Union européenne.",
    },
    ("EU", "AE"): {
        "en": "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC).",
        "fr": "Autoliquidation\u00a0: TVA due par le preneur (article 196 de la directive 2006/112/CE).",
        "de": "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge, Art. 196 MwSt-Systemrichtlinie "
        "2006/112/EG).",
    },
    ("EU", "O"): {
        "en": "Outside the scope of EU VAT: service supplied to a business established outside the European Union "
        "(Article 44, Council Directive 2006/112/EC).",
        "fr": "Hors du champ de la TVA de l'Union\u00a0: prestation de services à un preneur assujetti établi hors "
        "de l'Union européenne (article 44 de la directive 2006/112/CE).",
        "de": "Nicht steuerbar in der Europäischen Union: Leistung an einen Unternehmer mit Sitz außerhalb der "
        "Europäischen Union (Art. 44 MwSt-Systemrichtlinie 2006/112/EG).",
    },
    ("CH", "O"): {
        "de": "Nicht der schweizerischen Mehrwertsteuer unterliegend: Ort der Dienstleistung im Ausland (Art. 8 "
        "Abs. 1 MWSTG).",
        "fr": "Prestation non soumise à la TVA suisse\u00a0: lieu de la prestation à l'étranger (art. 8, al. 1 LTVA).",
        "en": "Not subject to Swiss VAT: place of supply abroad (Art. 8 para. 1 of the Swiss VAT Act, MWSTG).",
    },
    ("GB", "O"): {
        "en": "Outside the scope of UK VAT: place of supply outside the United Kingdom (VATA 1994, s. 7A).",
        "fr": "Hors du champ de la TVA britannique\u00a0: lieu de la prestation hors du Royaume-Uni (VATA 1994, "
        "s. 7A).",
        "de": "Nicht der britischen Umsatzsteuer unterliegend: Leistungsort außerhalb des Vereinigten Königreichs "
        "(VATA 1994, s. 7A).",
    },
}

# What the single-rate code stated for a reverse charge (it had no seller basis): the records it wrote load with it.
_LEGACY_REVERSE_CHARGE_TEXT = {
    "en": "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC).",
    "fr": "Autoliquidation\u00a0: TVA due par le preneur "
    "(article 196 de la directive 2006/112/CE\u00a0; article 283-2 du CGI).",
    "de": "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge, Art. 196 MwSt-Systemrichtlinie 2006/112/EG).",
}


class Exemption(Frozen):
    """Why no VAT is charged (BT-120 text, BT-121 VATEX code)."""

    code: str
    text: str


def exemption_basis(seller_country: str) -> str:
    """Whose law the mention cites: the seller country's own, else (an EU seller) the Directive."""
    return seller_country if seller_country in _OWN_BASIS else "EU"


def exemption_texts() -> dict[tuple[str, VatCategory], dict[str, str]]:
    """Every (basis, category) mention by language, for the test that compares them with the billing texts."""
    return {key: dict(texts) for key, texts in _EXEMPTION_TEXT.items()}


def exemption_for(seller_country: str, category: VatCategory, language: str) -> Exemption:
    texts = _EXEMPTION_TEXT[(exemption_basis(seller_country), category)]
    text = texts.get(invoice_language(language), texts[DEFAULT_LANGUAGE])
    return Exemption(code=EXEMPTION_CODES[category], text=text)


def reverse_charge_exemption(language: str, seller_country: str = "EU") -> Exemption:
    return exemption_for(seller_country, "AE", language)


def legacy_reverse_charge_exemption(language: str) -> Exemption:
    """The reason a record of the single-rate code states (an issued document never changes)."""
    text = _LEGACY_REVERSE_CHARGE_TEXT.get(invoice_language(language), _LEGACY_REVERSE_CHARGE_TEXT[DEFAULT_LANGUAGE])
    return Exemption(code=REVERSE_CHARGE_CODE, text=text)


@dataclass(frozen=True)
class VatTreatment:
    category: VatCategory
    rate: Decimal  # a percentage with 2 decimals ("20.00")
    exemption: Exemption | None

    @property
    def reverse_charge(self) -> bool:
        return self.category == "AE"

    @property
    def outside_scope(self) -> bool:
        return self.category == "O"


def same_vat_area(seller_country: str, buyer_country: str) -> bool:
    return buyer_country == seller_country or buyer_country in SAME_VAT_AREA.get(seller_country, frozenset())


def is_reverse_charge(seller_country: str, buyer_address_country: str | None, buyer_vat_id: str | None) -> bool:
    """Intra-EU B2B (DESIGN 14.1): both in the EU, different countries, and the buyer's VAT id is known."""
    return (
        buyer_address_country is not None
        and bool(buyer_vat_id and buyer_vat_id.strip())
        and seller_country in EU_MEMBER_STATES
        and buyer_address_country in EU_MEMBER_STATES
        and not same_vat_area(seller_country, buyer_address_country)
    )


def is_outside_scope(seller_country: str, buyer_address_country: str | None) -> bool:
    """A business service to a buyer outside the seller's VAT area (Directive art. 44; CGI art. 259-1; § 3a Abs. 2
    UStG; MWSTG art. 8; VATA 1994 s. 7A): for an EU seller, a buyer outside the EU; for a CH or GB seller, any buyer
    abroad. The portal sells to businesses only (DESIGN 1)."""
    if buyer_address_country is None or same_vat_area(seller_country, buyer_address_country):
        return False
    if seller_country in EU_MEMBER_STATES:
        return buyer_address_country not in EU_MEMBER_STATES
    return True


def vat_treatment(
    seller_country: str, seller_rate: Decimal, buyer_address_country: str | None, buyer_vat_id: str | None,
    language: str,
) -> VatTreatment:  # fmt: skip
    """The one place a sale's VAT treatment is decided (invoices, credit notes, and the renewal reminder's announced
    total), DESIGN 15.3's table: S at home and to an EU buyer without a VAT id, AE to an EU buyer with one, O outside
    the seller's VAT area; the mention cites the seller country's law, in the document's language."""
    if is_reverse_charge(seller_country, buyer_address_country, buyer_vat_id):
        return VatTreatment("AE", Decimal("0.00"), exemption_for(seller_country, "AE", language))
    if is_outside_scope(seller_country, buyer_address_country):
        return VatTreatment("O", Decimal("0.00"), exemption_for(seller_country, "O", language))
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
