"""The invoice PDF's layout (fpdf2): a PDF/A-3B page in the invoice's language, before any e-invoice is attached."""

from __future__ import annotations

from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from chalicelib.adapters.billing_labels import labels
from chalicelib.adapters.pdf.document import FONT, GREY, PAGE_WIDTH, PdfDocument
from chalicelib.domain.billing.document import Invoice
from chalicelib.domain.billing.formatting import format_amount, format_date, format_money, format_rate
from chalicelib.domain.einvoice import ElectronicAddress, SemanticInvoice
from chalicelib.domain.models import PostalAddress


def _address_lines(address: PostalAddress | None) -> list[str]:
    if address is None:
        return []
    city = " ".join(part for part in (address.postal_code, address.city) if part)
    return [*address.lines, *([city] if city else []), address.country]


def invoice_layout_pdf(invoice: Invoice, document: SemanticInvoice) -> bytes:
    """The invoice as a reader sees it, in its language: what it states of the EN 16931 terms (lines, VAT, totals,
    payment) is read from `document`, the semantic invoice the e-invoice is serialized from."""
    lang = invoice.language
    text = labels(lang)["invoice"]
    credit_note = invoice.type == "credit_note"
    title = text["credit_note_title"] if credit_note else text["title"]
    seller, buyer = invoice.seller, invoice.buyer
    pdf = PdfDocument(lang, text["page"], compliance="PDF/A-3B")
    pdf.set_creation_date(invoice.issued_at)
    pdf.set_title(f"{title} {invoice.number}")
    pdf.set_author(seller.name)
    pdf.set_creator("subscription-portal")
    pdf.add_page()

    # Seller (left) and the invoice's identity (right)
    top = pdf.get_y()
    pdf.line_of_text(seller.name, size=11, bold=True, height=5.5)
    party = document.seller
    # BT-31, or BT-32 on a document of category O (EN 16931 BR-O-02): the seller's VAT number is printed either way
    seller_lines = [*_address_lines(seller.address), f"{text['vat_id']}: {party.vat_id or party.tax_registration}"]
    if party.legal_registration_id is not None:  # BT-30 with its scheme (a French seller's SIREN)
        seller_lines.append(f"{text['siren']}: {party.legal_registration_id.value}")
    seller_lines.append(seller.registration)
    if party.electronic_address is not None:
        seller_lines.append(f"{text['electronic_address']}: {_electronic(party.electronic_address)}")
    contact = party.contact
    if contact is not None:  # BG-6: BT-41 name, BT-42 phone, BT-43 email
        named = [value for value in (contact.name, contact.phone, contact.email) if value]
        seller_lines.append(f"{text['contact']}: {', '.join(named)}")
    for line in seller_lines:
        pdf.line_of_text(line, size=8.5, height=4.2)
    seller_bottom = pdf.get_y()
    pdf.set_xy(120, top)
    pdf.set_font(FONT, "B", 18)
    pdf.cell(75, 9, title, align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
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
    printed_notes: set[str] = set()
    if buyer.vat_id and document.buyer.vat_id:
        pdf.line_of_text(f"{text['vat_id']}: {buyer.vat_id}", size=9)
    elif buyer.vat_id:  # category O: not an EU VAT number on this document (BT-48 absent), a note states it
        note = text["buyer_tax_id_note"].format(vat_id=buyer.vat_id)
        pdf.line_of_text(note, size=9)
        printed_notes.add(note)
    if document.buyer.legal_registration_id is not None:  # BT-47
        pdf.line_of_text(f"{text['siren']}: {document.buyer.legal_registration_id.value}", size=9)
    if document.buyer.electronic_address is not None:  # BT-49
        pdf.line_of_text(f"{text['electronic_address']}: {_electronic(document.buyer.electronic_address)}", size=9)
    pdf.line_of_text(f"{text['customer_id']}: {buyer.id}", size=9)
    pdf.ln(5)

    # Invoice facts
    period = text["period_range"].format(
        start=format_date(invoice.period.start, lang), end=format_date(invoice.period.end, lang)
    )
    facts = [
        (text["credit_note_number" if credit_note else "number"], invoice.number),
        (text["credit_note_date" if credit_note else "issue_date"], format_date(invoice.issue_date, lang)),
    ]
    if invoice.cancels is not None:  # BG-3: the invoice this credit note cancels, by number and date
        cited = text["cancels_value"].format(
            number=invoice.cancels.number, date=format_date(invoice.cancels.issue_date, lang)
        )
        facts.append((text["cancels"], cited))
    if invoice.replaces is not None:
        facts.append((text["replaces"], invoice.replaces.number))
    facts += [
        (text["due_date"], format_date(invoice.due_date, lang)),
        (text["period"], period),
    ]
    if invoice.po_number:
        facts.append((text["po_number"], invoice.po_number))
    facts += [
        (text["subscription_id"], invoice.subscription_id),
        (text["order_id"], invoice.order_id),
        (text["payment_method"], document.payment.means_text),
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
        for item in document.lines:
            table.row(
                [
                    item.name,
                    str(item.quantity),
                    format_money(item.net_price, document.currency, lang, keep_precision=True),
                    format_money(item.net_amount, document.currency, lang),
                ]
            )
    pdf.ln(3)

    # Totals
    totals = document.totals
    vat_rows = [
        (text["vat"].format(rate=format_rate(entry.rate, lang)), entry.tax_amount, False)
        for entry in document.vat_breakdown
    ]
    for label, amount, bold in (
        (text["net"], totals.without_vat, False),
        *vat_rows,
        (text["total"], totals.with_vat, True),
    ):
        pdf.set_x(15 + PAGE_WIDTH - 100)
        pdf.set_font(FONT, "B" if bold else "", 10 if bold else 9)
        pdf.cell(60, 6, label, align="R")
        pdf.cell(40, 6, format_money(amount, document.currency, lang), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if document.tax_currency is not None and document.vat_in_tax_currency is not None:  # BT-6, BT-111
        conversion = document.tax_currency_rate
        rate = format_amount(conversion, lang, keep_precision=True) if conversion is not None else ""
        pdf.set_x(15 + PAGE_WIDTH - 130)
        pdf.set_font(FONT, "", 9)
        pdf.cell(90, 6, text["tax_currency"].format(code=document.tax_currency, rate=rate), align="R")
        pdf.cell(
            40, 6, format_money(document.vat_in_tax_currency, document.tax_currency, lang), align="R",
            new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )  # fmt: skip
    pdf.ln(3)
    reasons = [entry.exemption_reason for entry in document.vat_breakdown if entry.exemption_reason]
    for reason in reasons:
        pdf.line_of_text(reason, size=9, bold=True)
        pdf.ln(2)

    # Payment
    pdf.line_of_text(document.payment_terms, size=9)
    transfer = document.payment.credit_transfer
    if transfer is None:
        pdf.line_of_text(text["payment_card_note"], size=9)
    else:
        pdf.ln(2)
        pdf.line_of_text(text["bank_details"], size=9, bold=True)
        bank = [(text["iban"], _grouped_iban(transfer.iban)), (text["bic"], transfer.bic)]
        if seller.bank_name:
            bank.insert(0, (text["bank"], seller.bank_name))
        pdf.pairs(bank, label_width=20)
        pdf.line_of_text(text["transfer_reference"].format(number=document.payment.remittance_information), size=9)

    # The notes (BG-1) the e-invoice states, as it states them: the legal mentions, the VAT-on-debits option, a
    # renewal's period; the exemption reasons are printed in bold above
    mentions = [note.text for note in document.notes if note.text not in reasons and note.text not in printed_notes]
    if mentions:
        pdf.ln(4)
        pdf.set_text_color(*GREY)
        for mention in mentions:
            pdf.line_of_text(mention, size=7.5, height=3.8)
        pdf.set_text_color(0, 0, 0)
    return pdf.to_bytes()


def _electronic(address: ElectronicAddress) -> str:
    """BT-34 / BT-49 as the platforms' directories write it: scheme, colon, identifier (0225:999000003)."""
    return f"{address.scheme}:{address.identifier}"


def _heading_style() -> FontFace:
    return FontFace(family=FONT, emphasis="BOLD", fill_color=(235, 235, 235))


def _grouped_iban(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
