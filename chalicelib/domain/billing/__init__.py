"""Billing domain (DESIGN 14, 15): pure, no I/O, no AWS, no PDF or XML library.

  money.py        rounding to a currency's minor unit (ISO 4217 exponents in domain/reference.py), decimal strings
  formatting.py   languages, and amounts, rates and dates as the PDF and the emails print them
  sellers.py      Seller (frozen all the way down), SellerCatalog, load_sellers
  tax.py          VAT categories, the VAT treatment of a sale, the breakdown per category and rate (EN 16931)
  document.py     the document: type (invoice / credit note), cause (`kind`), lines, breakdown, checked totals
  pricing.py      price_term (the one pricing of a term) and build_invoice
  terms.py        renewal dates and terms from the anchor
  numbering.py    number series per seller, year and document type
  json.py         the API JSON and the stored record

Import from the module that defines a name. The PDF/Factur-X rendering lives in `chalicelib.adapters.invoice_pdf`;
where the sellers file comes from is decided in `chalicelib.adapters.sellers`.
"""

# The names the single `billing` module exported, for code written against it while the package split was merged (the
# PDF adapter's own split); new code imports from the defining module.
from chalicelib.domain.billing.document import Buyer, Invoice, InvoiceKind, InvoiceLine, InvoicePaymentMethod, Period
from chalicelib.domain.billing.formatting import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    format_amount,
    format_date,
    format_money,
    format_rate,
    invoice_language,
    line_description,
)
from chalicelib.domain.billing.json import invoice_from_record, invoice_to_json, invoice_to_record, iso_z
from chalicelib.domain.billing.money import TWO_PLACES, minor_unit, money_str, price_str, round_money
from chalicelib.domain.billing.numbering import MAX_INVOICE_SEQUENCE, invoice_number, series_key
from chalicelib.domain.billing.pricing import Amounts, build_invoice, compute_amounts
from chalicelib.domain.billing.sellers import Seller, SellerCatalog, iban_is_valid, load_sellers
from chalicelib.domain.billing.tax import EU_MEMBER_STATES, is_reverse_charge
from chalicelib.domain.billing.terms import renewal_date, term_period
from chalicelib.domain.models import PostalAddress

__all__ = [
    "DEFAULT_LANGUAGE", "EU_MEMBER_STATES", "LANGUAGES", "MAX_INVOICE_SEQUENCE", "TWO_PLACES", "Amounts", "Buyer",
    "Invoice", "InvoiceKind", "InvoiceLine", "InvoicePaymentMethod", "Period", "PostalAddress", "Seller",
    "SellerCatalog", "build_invoice", "compute_amounts", "format_amount", "format_date", "format_money", "format_rate",
    "iban_is_valid", "invoice_from_record", "invoice_language", "invoice_number", "invoice_to_json",
    "invoice_to_record", "is_reverse_charge", "iso_z", "line_description", "load_sellers", "minor_unit", "money_str",
    "price_str", "renewal_date", "round_money", "series_key", "term_period",
]  # fmt: skip
