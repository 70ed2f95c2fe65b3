"""Invoice and agreement PDFs (DESIGN 14.2-14.4).

The only module that imports fpdf2 and factur-x (about 0.6 s and tens of MB together): import it where invoices are
rendered (the issuing job or worker), never from the portal API's read paths, which serve the kept bytes.

- `render_invoice_pdf(invoice)`: a Factur-X invoice, profile EN 16931: a PDF/A-3B document (embedded DejaVu fonts,
  Unicode text layer, in the invoice's language) carrying `factur-x.xml` (UN/CEFACT CII), which is checked against the
  Factur-X XSD before it is attached.
- `render_agreement_pdf(...)`: the agreement text with its acceptance record (or "version to be accepted").

Both are deterministic: every date in the file is the invoice's `issued_at` (or the given `generated_at`), and no
random identifier is used, so the same input renders the same bytes (downloads serve identical bytes).
The Schematron check of factur-x needs a Saxon server; it is never called (no network at run time).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

import facturx
import facturx.facturx as facturx_core
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from chalicelib.domain.billing import (
    Invoice,
    PostalAddress,
    format_date,
    format_money,
    format_rate,
    invoice_language,
    money_str,
    price_str,
)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
FONT_DIR = PACKAGE_ROOT / "fonts"
I18N_DIR = PACKAGE_ROOT / "templates" / "i18n"
FONT = "DejaVu"
FACTURX_LEVEL = "en16931"
UNIT_CODE = "C62"  # UN/ECE rec. 20 "one": a licence seat for one term
INVOICE_TYPE_CODE = "380"  # UNTDID 1001 commercial invoice
SEPA_CREDIT_TRANSFER = "58"  # UNTDID 4461
BANK_CARD = "48"
REVERSE_CHARGE_CODE = "VATEX-EU-AE"

PAGE_WIDTH = 180.0  # A4 minus 15 mm margins
GREY = (90, 90, 90)


@lru_cache(maxsize=8)
def labels(language: str) -> dict[str, dict[str, str]]:
    path = I18N_DIR / f"billing_{invoice_language(language)}.json"
    loaded: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


# ---------------------------------------------------------------------------------------------------------- invoice


def render_invoice_pdf(invoice: Invoice) -> bytes:
    xml = invoice_cii_xml(invoice)
    facturx.xml_check_xsd(xml, flavor="factur-x", level=FACTURX_LEVEL)
    visual = _invoice_visual_pdf(invoice)
    text = labels(invoice.language)["invoice"]
    metadata = {
        "author": invoice.seller.name,
        "keywords": "Factur-X, Invoice",
        "title": f"{invoice.seller.name}: {text['title']} {invoice.number}",
        "subject": f"{text['title']} {invoice.number} ({invoice.issue_date.isoformat()}), {invoice.buyer.name}",
    }
    with _facturx_clock(invoice.issued_at):
        result: bytes = facturx.generate_from_binary(
            visual,
            xml,
            flavor="factur-x",
            level=FACTURX_LEVEL,
            check_xsd=False,  # checked just above, before anything was attached
            check_schematron=False,
            pdf_metadata=metadata,
            lang=invoice.language,
        )
    return result


_CLOCK_LOCK = threading.Lock()


@contextmanager
def _facturx_clock(moment: datetime) -> Iterator[None]:
    """factur-x stamps the XMP, the document info and the attachment with `datetime.now()` and takes no date argument;
    for identical bytes on every render it reads the invoice's issue moment instead, for the duration of the call."""
    fixed_utc = moment.astimezone(UTC)

    class _IssueMoment(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return fixed_utc.astimezone(tz) if tz is not None else fixed_utc.replace(tzinfo=None)

    # The module attribute is read and restored under the lock: two workers rendering at once must not take each
    # other's stand-in for the real class (and leave it patched).
    with _CLOCK_LOCK:
        real = facturx_core.datetime
        facturx_core.datetime = _IssueMoment
        try:
            yield
        finally:
            facturx_core.datetime = real


def _address_lines(address: PostalAddress | None) -> list[str]:
    if address is None:
        return []
    city = " ".join(part for part in (address.postal_code, address.city) if part)
    return [*address.lines, *([city] if city else []), address.country]


def _payment_label(invoice: Invoice, text: Mapping[str, str]) -> str:
    method = invoice.payment_method
    if method.type == "card":
        brand = (method.brand or "").replace("_", " ").title()
        return text["payment_card"].format(brand=brand, last4=method.last4 or "")
    return text["payment_invoice"]


class _Document(FPDF):
    """A4 portrait, DejaVu embedded, page numbers in the footer."""

    def __init__(self, language: str, page_label: str, compliance: str | None) -> None:
        super().__init__(orientation="P", unit="mm", format="A4", enforce_compliance=compliance)
        self._page_label = page_label
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_lang(language)
        self.alias_nb_pages("{pages}")

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FONT, "", 7)
        self.set_text_color(*GREY)
        self.cell(0, 4, self._page_label.format(page=self.page_no(), pages="{pages}"), align="R")
        self.set_text_color(0, 0, 0)

    def line_of_text(self, text: str, size: float = 9, bold: bool = False, height: float = 4.6) -> None:
        self.set_font(FONT, "B" if bold else "", size)
        self.multi_cell(0, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def pairs(self, rows: Sequence[tuple[str, str]], label_width: float = 48, size: float = 9) -> None:
        for label, value in rows:
            self.set_font(FONT, "", size)
            self.set_text_color(*GREY)
            self.cell(label_width, 5, label)
            self.set_text_color(0, 0, 0)
            self.multi_cell(0, 5, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def to_bytes(self) -> bytes:
        self.set_xmp_metadata(self._dated_xmp())
        return bytes(self.output())

    def _dated_xmp(self) -> str:
        """fpdf2's own PDF/A XMP stamps ModifyDate with the wall clock (and the file /ID hashes it): this one carries
        the same facts (PDF/A-3B, title, author, tools) dated with the document's creation date only."""
        stamp = escape(self.creation_date.astimezone(UTC).isoformat(timespec="seconds"))
        attributes = f'xmp:CreateDate="{stamp}" xmp:ModifyDate="{stamp}" xmp:MetadataDate="{stamp}"'
        # Info and XMP must agree in PDF/A: only what the Info dictionary carries is repeated here
        for name, value in (("xmp:CreatorTool", "creator"), ("pdf:Producer", "producer")):
            if getattr(self, value, None):
                attributes += f' {name}="{escape(getattr(self, value))}"'
        elements = ["<pdfaid:part>3</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>"]
        if self.title:
            title = escape(self.title)
            elements.append(f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>')
        author = getattr(self, "author", None)
        if isinstance(author, str) and author:
            elements.append(f"<dc:creator><rdf:Seq><rdf:li>{escape(author)}</rdf:li></rdf:Seq></dc:creator>")
        return (
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
            '  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
            ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
            ' xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">\n'
            f'    <rdf:Description rdf:about="" {attributes}>\n      '
            + "\n      ".join(elements)
            + "\n    </rdf:Description>\n  </rdf:RDF>\n</x:xmpmeta>"
        )


def _invoice_visual_pdf(invoice: Invoice) -> bytes:
    lang = invoice.language
    text = labels(lang)["invoice"]
    seller, buyer = invoice.seller, invoice.buyer
    pdf = _Document(lang, text["page"], compliance="PDF/A-3B")
    pdf.set_creation_date(invoice.issued_at)
    pdf.set_title(f"{text['title']} {invoice.number}")
    pdf.set_author(seller.name)
    pdf.set_creator("subscription-portal")
    pdf.add_page()

    # Seller (left) and the invoice's identity (right)
    top = pdf.get_y()
    pdf.line_of_text(seller.name, size=11, bold=True, height=5.5)
    seller_lines = [*_address_lines(seller.address), f"{text['vat_id']}: {seller.vat_id}", seller.registration]
    seller_lines += [value for value in (seller.email, seller.phone) if value]
    for line in seller_lines:
        pdf.line_of_text(line, size=8.5, height=4.2)
    seller_bottom = pdf.get_y()
    pdf.set_xy(120, top)
    pdf.set_font(FONT, "B", 18)
    pdf.cell(75, 9, text["title"], align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(75, 6, invoice.number, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(seller_bottom, pdf.get_y()) + 6)

    # Buyer
    pdf.set_font(FONT, "", 8)
    pdf.set_text_color(*GREY)
    pdf.cell(0, 4.5, text["buyer"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.line_of_text(buyer.name, size=10.5, bold=True, height=5.2)
    for line in _address_lines(buyer.address) or [buyer.country]:
        pdf.line_of_text(line, size=9)
    if buyer.vat_id:
        pdf.line_of_text(f"{text['vat_id']}: {buyer.vat_id}", size=9)
    pdf.line_of_text(f"{text['customer_id']}: {buyer.id}", size=9)
    pdf.ln(5)

    # Invoice facts
    period = text["period_range"].format(
        start=format_date(invoice.period.start, lang), end=format_date(invoice.period.end, lang)
    )
    facts = [
        (text["number"], invoice.number),
        (text["issue_date"], format_date(invoice.issue_date, lang)),
        (text["due_date"], format_date(invoice.due_date, lang)),
        (text["period"], period),
    ]
    if invoice.po_number:
        facts.append((text["po_number"], invoice.po_number))
    facts += [
        (text["subscription_id"], invoice.subscription_id),
        (text["order_id"], invoice.order_id),
        (text["payment_method"], _payment_label(invoice, text)),
    ]
    pdf.pairs(facts)
    pdf.ln(5)

    # Lines
    pdf.set_font(FONT, "", 9)
    with pdf.table(
        col_widths=(84, 18, 39, 39),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=6,
        headings_style=_heading_style(),
        first_row_as_headings=True,
    ) as table:
        table.row([text["description"], text["quantity"], text["unit_price"], text["amount"]])
        for item in invoice.lines:
            table.row(
                [
                    item.description,
                    str(item.quantity),
                    format_money(item.unit_price, invoice.currency, lang, keep_precision=True),
                    format_money(item.amount, invoice.currency, lang),
                ]
            )
    pdf.ln(3)

    # Totals
    vat_label = text["vat"].format(rate=format_rate(invoice.tax_rate, lang))
    for label, amount, bold in (
        (text["net"], invoice.net_amount, False),
        (vat_label, invoice.tax_amount, False),
        (text["total"], invoice.total_amount, True),
    ):
        pdf.set_x(15 + PAGE_WIDTH - 100)
        pdf.set_font(FONT, "B" if bold else "", 10 if bold else 9)
        pdf.cell(60, 6, label, align="R")
        pdf.cell(40, 6, format_money(amount, invoice.currency, lang), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    if invoice.reverse_charge:
        pdf.line_of_text(text["reverse_charge"], size=9, bold=True)
        pdf.ln(2)

    # Payment
    pdf.line_of_text(
        text["payment_terms"].format(days=seller.payment_terms_days, due_date=format_date(invoice.due_date, lang)),
        size=9,
    )
    if invoice.payment_method.type == "card":
        pdf.line_of_text(text["payment_card_note"], size=9)
    else:
        pdf.ln(2)
        pdf.line_of_text(text["bank_details"], size=9, bold=True)
        bank = [(text["iban"], _grouped_iban(seller.iban)), (text["bic"], seller.bic)]
        if seller.bank_name:
            bank.insert(0, (text["bank"], seller.bank_name))
        pdf.pairs(bank, label_width=20)
        pdf.line_of_text(text["transfer_reference"].format(number=invoice.number), size=9)

    # Legal mentions
    mentions = seller.mentions(lang)
    if mentions:
        pdf.ln(4)
        pdf.set_text_color(*GREY)
        for mention in mentions:
            pdf.line_of_text(mention, size=7.5, height=3.8)
        pdf.set_text_color(0, 0, 0)
    return pdf.to_bytes()


def _heading_style() -> FontFace:
    return FontFace(family=FONT, emphasis="BOLD", fill_color=(235, 235, 235))


def _grouped_iban(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


# ------------------------------------------------------------------------------------------------ Factur-X (CII XML)


def _party_address(address: PostalAddress | None, country: str) -> dict[str, Any]:
    if address is None:
        return {"country_code": country}
    fields: dict[str, Any] = {"country_code": address.country}
    # CII's PostalTradeAddress has three line elements: LineThree carries the rest, so no line the buyer gave is lost
    lines = [*address.lines[:2], ", ".join(address.lines[2:])] if len(address.lines) > 3 else list(address.lines)
    for key, value in zip(("addr_l1", "addr_l2", "addr_l3"), lines, strict=False):
        fields[key] = value
    if address.postal_code:
        fields["postcode"] = address.postal_code
    if address.city:
        fields["city"] = address.city
    return fields


def invoice_cii_data(invoice: Invoice) -> dict[str, Any]:
    """The invoice as factur-x's BT-keyed dict (EN 16931 business terms)."""
    seller, buyer = invoice.seller, invoice.buyer
    text = labels(invoice.language)["invoice"]
    category = "AE" if invoice.reverse_charge else "S"
    vat_breakdown: dict[str, Any] = {
        "BT-116": money_str(invoice.net_amount),
        "BT-117": money_str(invoice.tax_amount),
        "BT-118": category,
        "BT-119": money_str(invoice.tax_rate),
    }
    if invoice.reverse_charge:
        vat_breakdown["BT-120"] = text["reverse_charge"]
        vat_breakdown["BT-121"] = REVERSE_CHARGE_CODE
    seller_party: dict[str, Any] = {
        "name": seller.name,
        "vat_identifier": seller.vat_id,
        "legal_identifier": seller.registration,
        **_party_address(seller.address, seller.country),
    }
    if seller.email or seller.phone:
        contact = {key: value for key, value in (("email", seller.email), ("phone", seller.phone)) if value}
        seller_party["contacts"] = [contact]
    buyer_party: dict[str, Any] = {
        "name": buyer.name,
        "identifiers": {None: buyer.id},
        **_party_address(buyer.address, buyer.country),
    }
    if buyer.vat_id:
        buyer_party["vat_identifier"] = buyer.vat_id
    data: dict[str, Any] = {
        "BT-1": invoice.number,
        "BT-2": invoice.issue_date,
        "BT-3": INVOICE_TYPE_CODE,
        "BT-5": invoice.currency,
        "BT-9": invoice.due_date,
        "BT-20": text["payment_terms"].format(
            days=seller.payment_terms_days, due_date=format_date(invoice.due_date, invoice.language)
        ),
        # 7.8 writes an empty, XSD-invalid delivery block unless some delivery data is given
        "BT-72": invoice.period.start,
        "BT-73": invoice.period.start,
        "BT-74": invoice.period.end,
        "BT-106": money_str(invoice.net_amount),
        "BT-109": money_str(invoice.net_amount),
        "BT-110": money_str(invoice.tax_amount),
        "BT-112": money_str(invoice.total_amount),
        "BT-115": money_str(invoice.total_amount),
        "BG-1": [{"BT-22": mention} for mention in seller.mentions(invoice.language)],
        "BG-4": seller_party,
        "BG-7": buyer_party,
        "BG-23": [vat_breakdown],
        "BG-25": [
            {
                "BT-126": str(position),
                "BT-129": str(line.quantity),
                "BT-130": UNIT_CODE,
                "BT-131": money_str(line.amount),
                "BT-134": invoice.period.start,
                "BT-135": invoice.period.end,
                "BT-146": price_str(line.unit_price),
                "BT-151": category,
                "BT-152": money_str(invoice.tax_rate),
                "BT-153": line.description,
                "BT-155": line.product_code,
            }
            for position, line in enumerate(invoice.lines, start=1)
        ],
    }
    if invoice.po_number:
        data["BT-10"] = invoice.po_number  # buyer reference (DESIGN 14.4)
        data["BT-13"] = invoice.po_number  # and the purchase order it answers
    if invoice.reverse_charge:
        data["BG-1"].append({"BT-22": text["reverse_charge"]})
    if invoice.payment_method.type == "card":
        data["BT-81"] = BANK_CARD
        data["BT-82"] = _payment_label(invoice, text)
        data["BT-87"] = invoice.payment_method.last4  # EN 16931 BR-51: only the last digits of the card
    else:
        data["BT-81"] = SEPA_CREDIT_TRANSFER
        data["BT-82"] = text["payment_invoice"]
        data["BT-83"] = invoice.number
        data["BT-84"] = seller.iban
        data["BT-85"] = seller.name
        data["BT-86"] = seller.bic
    if not data["BG-1"]:
        del data["BG-1"]
    return data


def invoice_cii_xml(invoice: Invoice) -> bytes:
    xml: bytes = facturx.generate_cii_xml(
        invoice_cii_data(invoice), level=FACTURX_LEVEL, check_xsd=False, check_schematron=False
    )
    return xml


# -------------------------------------------------------------------------------------------------------- agreement


@dataclass(frozen=True)
class AgreementFacts:
    """What the agreement PDF states about the subscription it belongs to."""

    subscription_id: str
    product_name: str
    customer_name: str
    country: str
    license_quantity: int


@dataclass(frozen=True)
class AcceptanceRecord:
    name: str
    email: str
    accepted_at: datetime
    version: str
    channel: str  # ActivationChannel value: "email_link" or "portal"


def render_agreement_pdf(
    title: str,
    text: str,
    version: str,
    facts: AgreementFacts,
    acceptance: AcceptanceRecord | None,
    language: str,
    generated_at: datetime,
) -> bytes:
    """The agreement of `version` with its acceptance record, or marked "to be accepted" when `acceptance` is None.
    `generated_at` dates the file (use the acceptance moment, or the subscription's order time when pending) so the
    same agreement renders the same bytes."""
    lang = invoice_language(language)
    words = labels(lang)["agreement"]
    pdf = _Document(lang, words["page"], compliance="PDF/A-3B")
    pdf.set_creation_date(generated_at.astimezone(UTC))
    pdf.set_title(f"{title} ({version})")
    pdf.set_creator("subscription-portal")
    pdf.add_page()
    pdf.set_font(FONT, "", 8)
    pdf.set_text_color(*GREY)
    pdf.cell(0, 5, words["document"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.line_of_text(title, size=15, bold=True, height=7.5)
    pdf.ln(2)
    pdf.pairs(
        [
            (words["version"], version),
            (words["subscription"], facts.subscription_id),
            (words["product"], facts.product_name),
            (words["customer"], facts.customer_name),
            (words["country"], facts.country),
            (words["licences"], str(facts.license_quantity)),
        ]
    )
    pdf.ln(3)
    if acceptance is None:
        pdf.line_of_text(words["to_be_accepted"], size=10, bold=True)
    else:
        pdf.line_of_text(words["acceptance"], size=10, bold=True)
        channel = words.get(f"channel_{acceptance.channel}", acceptance.channel)
        pdf.pairs(
            [
                (words["accepted_by"], f"{acceptance.name} <{acceptance.email}>"),
                (words["accepted_at"], acceptance.accepted_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")),
                (words["version"], acceptance.version),
                (words["channel"], channel),
            ]
        )
    pdf.ln(5)
    for paragraph in text.split("\n\n"):
        pdf.line_of_text(paragraph.strip(), size=9.5, height=5)
        pdf.ln(2)
    return pdf.to_bytes()
