"""The agreement PDF (DESIGN 14.4 "download the contract"): the agreement text with its acceptance record, or marked
"version to be accepted"; PDF/A-3B with a searchable text layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fpdf.enums import XPos, YPos

from chalicelib.adapters.billing_labels import labels
from chalicelib.adapters.pdf.document import FONT, GREY, PdfDocument
from chalicelib.domain.billing.formatting import invoice_language


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
    pdf = PdfDocument(lang, words["page"], compliance="PDF/A-3B")
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
