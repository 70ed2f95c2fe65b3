"""The PDF/A-3B page every document shares: A4 portrait, DejaVu embedded (a Unicode text layer), page numbers, and an
XMP dated by the document alone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from html import escape
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT_DIR = Path(__file__).resolve().parent.parent.parent / "fonts"
FONT = "DejaVu"
PAGE_WIDTH = 180.0  # A4 minus 15 mm margins
GREY = (90, 90, 90)


class PdfDocument(FPDF):
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
