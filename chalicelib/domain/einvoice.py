"""The EN 16931 semantic invoice: the business terms (BT-n) and groups (BG-n) every syntax states, built once from an
issued `Invoice` by `semantic_invoice`.

It lives in the domain, not beside the serializers, because it is the legal content of the document: which terms an
invoice states and how they derive from the invoice record are billing rules, independent of any syntax (CII, UBL) or
of the PDF that prints them, and they are tested without the XML and PDF libraries. A serializer (in
`chalicelib.adapters.einvoice`) only spells these terms in its syntax; it decides nothing about them.

Pure: no I/O and no XML library. The wording in the invoice's language (payment terms, payment means, the
VAT-on-debits option, a renewal's note) is given by the caller, which reads it from the billing texts; the VAT
exemption reasons are the domain's own (domain/billing/tax.py), the seller's mentions and their subject codes the
seller's configuration.

The derivations the domain record does not own yet (type code, VAT breakdown, line VAT, BT-106, preceding invoice)
are each one small function below, so that switching them to the record's own fields is a few lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from chalicelib.domain.billing.document import Invoice, InvoiceLine
from chalicelib.domain.billing.formatting import format_date
from chalicelib.domain.identifiers import SIREN_SCHEME
from chalicelib.domain.identifiers import ElectronicAddress as DomainElectronicAddress
from chalicelib.domain.models import PostalAddress

SEPA_CREDIT_TRANSFER = "58"  # UNTDID 4461 payment means
BANK_CARD = "48"
UNIT_CODE = "C62"  # UN/ECE rec. 20 "one": a licence seat for one term
MAX_ADDRESS_LINES = 3  # BT-35, BT-36, BT-162 (seller); BT-50, BT-51, BT-163 (buyer)


@dataclass(frozen=True)
class Address:
    """BG-5 (seller) / BG-8 (buyer) postal address."""

    lines: tuple[str, ...]  # at most MAX_ADDRESS_LINES
    postal_code: str | None  # BT-38 / BT-53
    city: str | None  # BT-37 / BT-52
    country: str  # BT-40 / BT-55


@dataclass(frozen=True)
class ElectronicAddress:
    """BT-34 (seller) / BT-49 (buyer): where the document is delivered electronically, with its EAS scheme (BT-34-1 /
    BT-49-1: 0225 SIREN in France, 0208 KBO/BCE in Belgium, 9930 the German VAT id, ...)."""

    scheme: str
    identifier: str


@dataclass(frozen=True)
class Identifier:
    """An identifier with its ISO 6523 scheme (BT-30/BT-30-1, BT-47/BT-47-1: scheme 0002 is the French SIREN)."""

    value: str
    scheme: str | None


@dataclass(frozen=True)
class Note:
    """BG-1: a note (BT-22) and its UNTDID 4451 subject code (BT-21: PMD, PMT, AAB, ...)."""

    text: str
    subject_code: str | None = None


@dataclass(frozen=True)
class Contact:
    """BG-6 seller contact."""

    phone: str | None  # BT-42
    email: str | None  # BT-43
    name: str | None = None  # BT-41


@dataclass(frozen=True)
class SellerParty:
    """BG-4."""

    name: str  # BT-27
    legal_registration: str  # BT-30
    vat_id: str | None  # BT-31 (EN 16931 BR-O-02: none on a document whose VAT category is O)
    address: Address  # BG-5
    contact: Contact | None  # BG-6
    legal_registration_id: Identifier | None = None  # BT-30 with its scheme, when the seller's country has one
    tax_registration: str | None = None  # BT-32: the seller's VAT number where BT-31 may not be stated (category O)
    electronic_address: ElectronicAddress | None = None  # BT-34


@dataclass(frozen=True)
class BuyerParty:
    """BG-7."""

    name: str  # BT-44
    identifier: str  # BT-46, no scheme: the vendor's customer number
    vat_id: str | None  # BT-48
    address: Address  # BG-8 (only the country when the order gave no address)
    legal_registration_id: Identifier | None = None  # BT-47 (a French buyer's SIREN, scheme 0002)
    electronic_address: ElectronicAddress | None = None  # BT-49


@dataclass(frozen=True)
class Period:
    """BG-14 invoicing period / BG-26 line period."""

    start: date  # BT-73 / BT-134
    end: date  # BT-74 / BT-135, inclusive


@dataclass(frozen=True)
class PrecedingInvoice:
    """BG-3: the invoice a credit note cancels."""

    number: str  # BT-25
    issue_date: date | None  # BT-26


@dataclass(frozen=True)
class CreditTransfer:
    """BG-17."""

    iban: str  # BT-84
    account_name: str  # BT-85
    bic: str  # BT-86


@dataclass(frozen=True)
class PaymentInstructions:
    """BG-16."""

    means_code: str  # BT-81
    means_text: str  # BT-82
    remittance_information: str | None  # BT-83
    credit_transfer: CreditTransfer | None  # BG-17
    card_last_digits: str | None  # BG-18 BT-87 (EN 16931 BR-51: never the whole card number)
    card_network: str | None = None  # BT-87's card network (UBL's CardAccount requires it): the card's brand


@dataclass(frozen=True)
class Totals:
    """BG-22."""

    line_net_total: Decimal  # BT-106
    without_vat: Decimal  # BT-109
    vat: Decimal  # BT-110
    with_vat: Decimal  # BT-112
    due: Decimal  # BT-115


@dataclass(frozen=True)
class VatBreakdown:
    """BG-23: one entry per VAT category and rate."""

    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117
    category: str  # BT-118
    rate: Decimal  # BT-119
    exemption_reason: str | None  # BT-120
    exemption_reason_code: str | None  # BT-121


@dataclass(frozen=True)
class Line:
    """BG-25."""

    identifier: str  # BT-126
    quantity: int  # BT-129
    unit_code: str  # BT-130
    net_amount: Decimal  # BT-131
    period: Period  # BG-26
    net_price: Decimal  # BT-146, the order's precision kept
    vat_category: str  # BT-151
    vat_rate: Decimal | None  # BT-152; none for category O ("not subject to VAT", EN 16931 BR-O-05)
    name: str  # BT-153
    seller_item_id: str  # BT-155


@dataclass(frozen=True)
class SemanticInvoice:
    number: str  # BT-1
    issue_date: date  # BT-2
    type_code: str  # BT-3
    currency: str  # BT-5
    due_date: date  # BT-9
    buyer_reference: str | None  # BT-10
    purchase_order: str | None  # BT-13
    payment_terms: str  # BT-20
    notes: tuple[Note, ...]  # BG-1
    preceding_invoice: PrecedingInvoice | None  # BG-3
    seller: SellerParty  # BG-4
    buyer: BuyerParty  # BG-7
    delivery_date: date  # BT-72
    period: Period  # BG-14
    payment: PaymentInstructions  # BG-16
    totals: Totals  # BG-22
    vat_breakdown: tuple[VatBreakdown, ...]  # BG-23
    lines: tuple[Line, ...]  # BG-25
    business_process: str | None = None  # BT-23 (BR-FR: the billing framework, e.g. S1 for services)
    tax_currency: str | None = None  # BT-6: the accounting currency when the VAT is also stated in it
    vat_in_tax_currency: Decimal | None = None  # BT-111
    vat_point_date_code: str | None = None  # BT-8 (UNTDID 2005: 3 = the invoice date; France: VAT on debits)
    tax_currency_rate: Decimal | None = None  # the rate BT-111 was computed at (printed; no EN 16931 term)


FRENCH_BUSINESS_PROCESS = "S1"  # BR-FR-08: "dépôt d'une facture de services" (the portal sells services)
INVOICE_DATE_CODE = "3"  # UNTDID 2005 (BT-8): the VAT is due on the invoice date (the VAT-on-debits option)


def semantic_invoice(invoice: Invoice, wording: Mapping[str, str]) -> SemanticInvoice:
    """The invoice's EN 16931 terms. `wording` is the invoice's billing texts in its language (the `invoice` section
    of `templates/i18n/billing_<language>.json`)."""
    seller, buyer = invoice.seller, invoice.buyer
    french = seller.country == "FR"
    # EN 16931 BR-O-02: a document of category O states no VAT identifier; the seller's goes to BT-32
    outside_scope = invoice.outside_scope
    converted = invoice.tax_currency
    return SemanticInvoice(
        number=invoice.number,
        issue_date=invoice.issue_date,
        type_code=document_type_code(invoice),
        currency=invoice.currency,
        due_date=invoice.due_date,
        buyer_reference=invoice.po_number,  # the PO number is how the buyer routes the invoice (DESIGN 14.4)
        purchase_order=invoice.po_number,
        payment_terms=wording["payment_terms"].format(
            days=seller.payment_terms_days, due_date=format_date(invoice.due_date, invoice.language)
        ),
        notes=document_notes(invoice, wording),
        preceding_invoice=preceding_invoice(invoice),
        seller=SellerParty(
            name=seller.name,
            legal_registration=seller.siren if french and seller.siren else seller.registration,
            vat_id=None if outside_scope else seller.vat_id,
            address=_address(seller.address, seller.country),
            contact=_seller_contact(invoice),
            legal_registration_id=Identifier(seller.siren, SIREN_SCHEME) if french and seller.siren else None,
            tax_registration=seller.vat_id if outside_scope else None,
            electronic_address=_electronic(seller.electronic_address),
        ),
        buyer=BuyerParty(
            name=buyer.name,
            identifier=buyer.id,
            vat_id=None if outside_scope else (buyer.vat_id or None),
            address=_address(buyer.address, buyer.country),
            legal_registration_id=Identifier(buyer.siren, SIREN_SCHEME) if buyer.siren else None,
            electronic_address=_electronic(buyer.electronic_address),
        ),
        # A subscription term is delivered from its first day on
        delivery_date=invoice.period.start,
        period=Period(start=invoice.period.start, end=invoice.period.end),
        payment=_payment(invoice, wording),
        totals=Totals(
            line_net_total=line_net_total(invoice),
            without_vat=invoice.net_amount,
            vat=invoice.tax_amount,
            with_vat=invoice.total_amount,
            due=invoice.total_amount,
        ),
        vat_breakdown=vat_breakdown(invoice, wording),
        lines=tuple(_line(invoice, position, line) for position, line in enumerate(invoice.lines, start=1)),
        business_process=FRENCH_BUSINESS_PROCESS if french else None,
        tax_currency=converted.code if converted else None,
        vat_in_tax_currency=converted.tax_amount if converted else None,
        vat_point_date_code=INVOICE_DATE_CODE if seller.vat_on_debits else None,
        tax_currency_rate=converted.rate if converted else None,
    )


def document_notes(invoice: Invoice, wording: Mapping[str, str]) -> tuple[Note, ...]:
    """BG-1, in the order the PDF prints them: the seller's legal mentions with their subject codes (BR-FR-05: PMD,
    PMT, AAB), the VAT-on-debits option, what a renewal is, the buyer's VAT number where BT-48 may not carry it, then
    each VAT exemption's reason."""
    notes = [Note(mention.text, mention.subject) for mention in invoice.seller.coded_mentions(invoice.language)]
    if invoice.seller.vat_on_debits:
        notes.append(Note(wording["vat_on_debits"]))
    if invoice.kind == "renewal":
        notes.append(Note(wording["renewal_note"].format(**_period_words(invoice))))
    if invoice.outside_scope and invoice.buyer.vat_id:
        notes.append(Note(wording["buyer_tax_id_note"].format(vat_id=invoice.buyer.vat_id)))
    notes.extend(Note(entry.exemption.text) for entry in invoice.tax_breakdown if entry.exemption is not None)
    return tuple(notes)


def _period_words(invoice: Invoice) -> dict[str, str]:
    return {
        "start": format_date(invoice.period.start, invoice.language),
        "end": format_date(invoice.period.end, invoice.language),
    }


def _seller_contact(invoice: Invoice) -> Contact | None:
    """BG-6: the configured contact (BT-41..43), else what the older records knew (the seller's email and phone)."""
    seller = invoice.seller
    if seller.contact is not None:
        return Contact(phone=seller.contact.phone, email=seller.contact.email or seller.email, name=seller.contact.name)
    if seller.email or seller.phone:
        return Contact(phone=seller.phone, email=seller.email)
    return None


def _electronic(address: DomainElectronicAddress | None) -> ElectronicAddress | None:
    return None if address is None else ElectronicAddress(scheme=address.scheme, identifier=address.id)


# ------------------------------------------------------------------ derivations the domain record will own (issue 13)


def document_type_code(invoice: Invoice) -> str:
    """BT-3: 380 for an invoice, 381 for a credit note (the domain's document type)."""
    return invoice.type_code


def preceding_invoice(invoice: Invoice) -> PrecedingInvoice | None:
    """BG-3: the document a credit note cancels."""
    cited = invoice.cancels
    return None if cited is None else PrecedingInvoice(number=cited.number, issue_date=cited.issue_date)


def vat_breakdown(invoice: Invoice, wording: Mapping[str, str]) -> tuple[VatBreakdown, ...]:
    """BG-23: the domain's breakdown per category and rate (EN 16931 rounding, once per group)."""
    return tuple(
        VatBreakdown(
            taxable_amount=entry.taxable_amount,
            tax_amount=entry.tax_amount,
            category=entry.category,
            rate=entry.rate,
            exemption_reason=entry.exemption.text if entry.exemption else None,
            exemption_reason_code=entry.exemption.code if entry.exemption else None,
        )
        for entry in invoice.tax_breakdown
    )


def line_net_total(invoice: Invoice) -> Decimal:
    """BT-106: the sum of the line nets (the document checks it equals its net amount)."""
    return sum((line.amount for line in invoice.lines), Decimal("0.00"))


def line_period(invoice: Invoice, line: InvoiceLine) -> Period:
    """BG-26 of a line: its own period."""
    return Period(start=line.period.start, end=line.period.end)


def line_vat(invoice: Invoice, line: InvoiceLine) -> tuple[str, Decimal]:
    """BT-151 and BT-152 of a line: its own category and rate."""
    return line.tax_category, line.tax_rate


# ------------------------------------------------------------------------------------------------------------ parts


def _address(address: PostalAddress | None, country: str) -> Address:
    if address is None:
        return Address(lines=(), postal_code=None, city=None, country=country)
    lines = address.lines
    if len(lines) > MAX_ADDRESS_LINES:  # the last line carries the rest: no line the buyer gave is lost
        lines = (*lines[: MAX_ADDRESS_LINES - 1], ", ".join(lines[MAX_ADDRESS_LINES - 1 :]))
    return Address(lines=tuple(lines), postal_code=address.postal_code, city=address.city, country=address.country)


def card_brand(invoice: Invoice) -> str:
    """The card's brand as printed ("American Express"), for BT-82 and the card network."""
    return (invoice.payment_method.brand or "").replace("_", " ").title()


def payment_means_text(invoice: Invoice, wording: Mapping[str, str]) -> str:
    """BT-82, as the PDF prints the payment method too."""
    method = invoice.payment_method
    if method.type == "card":
        return wording["payment_card"].format(brand=card_brand(invoice), last4=method.last4 or "")
    return wording["payment_invoice"]


def _payment(invoice: Invoice, wording: Mapping[str, str]) -> PaymentInstructions:
    text = payment_means_text(invoice, wording)
    if invoice.payment_method.type == "card":
        return PaymentInstructions(
            means_code=BANK_CARD,
            means_text=text,
            remittance_information=None,
            credit_transfer=None,
            card_last_digits=invoice.payment_method.last4,
            card_network=card_brand(invoice) or None,
        )
    seller = invoice.seller
    return PaymentInstructions(
        means_code=SEPA_CREDIT_TRANSFER,
        means_text=text,
        remittance_information=invoice.number,
        credit_transfer=CreditTransfer(iban=seller.iban, account_name=seller.name, bic=seller.bic),
        card_last_digits=None,
    )


def _line(invoice: Invoice, position: int, line: InvoiceLine) -> Line:
    category, rate = line_vat(invoice, line)
    return Line(
        identifier=str(position),
        quantity=line.quantity,
        unit_code=UNIT_CODE,
        net_amount=line.amount,
        period=line_period(invoice, line),
        net_price=line.unit_price,
        vat_category=category,
        vat_rate=None if category == "O" else rate,
        name=line.description,
        seller_item_id=line.product_code,
    )
