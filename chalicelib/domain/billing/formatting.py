"""How billing values read in the invoice's language (the PDF and the emails): languages, amounts, rates, dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from chalicelib.domain.billing.money import money_str, price_str

LANGUAGES = ("en", "fr", "de")
DEFAULT_LANGUAGE = "en"


def invoice_language(language: str) -> str:
    lang = language.split("-")[0].lower() if language else DEFAULT_LANGUAGE
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def format_money(amount: Decimal, currency: str, language: str, *, keep_precision: bool = False) -> str:
    """As printed on the PDF and in emails: en 2,700.00 EUR / fr 2 700,00 EUR / de 2.700,00 EUR (plain spaces, so the
    printed text can be searched and copied as it reads). `keep_precision` keeps a unit price's extra decimals."""
    return f"{format_amount(amount, language, keep_precision=keep_precision)} {currency}"


def format_amount(amount: Decimal, language: str, *, keep_precision: bool = False) -> str:
    """The number alone, in the reader's convention: en 2,700.00 / fr 2 700,00 / de 2.700,00."""
    whole, _, cents = (price_str(amount) if keep_precision else money_str(amount)).lstrip("-").partition(".")
    groups = f"{int(whole):,}"
    separators = {"en": (",", "."), "fr": (" ", ","), "de": (".", ",")}
    thousands, decimal_mark = separators[invoice_language(language)]
    sign = "-" if amount < 0 else ""
    return f"{sign}{groups.replace(',', thousands)}{decimal_mark}{cents}"


def format_rate(rate: Decimal, language: str) -> str:
    text = money_str(rate)
    return (text if invoice_language(language) == "en" else text.replace(".", ",")) + " %"


def format_date(day: date, language: str) -> str:
    lang = invoice_language(language)
    if lang == "fr":
        return day.strftime("%d/%m/%Y")
    if lang == "de":
        return day.strftime("%d.%m.%Y")
    return day.isoformat()


def _months_label(months: int, language: str) -> str:
    singular = {"en": "month", "fr": "mois", "de": "Monat"}
    plural = {"en": "months", "fr": "mois", "de": "Monate"}
    return f"{months} {(singular if months == 1 else plural)[language]}"


def line_description(product_name: str, term_months: int, language: str) -> str:
    return f"{product_name}, {_months_label(term_months, invoice_language(language))}"
