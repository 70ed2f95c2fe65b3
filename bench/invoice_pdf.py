"""Invoice PDF rendering (DESIGN 14.2: the PDF/XML libraries are heavy and run only where invoices are rendered).

Run: `.venv/bin/python -m bench.invoice_pdf [N]`. Prints
(a) the import cost of the PDF/XML stack (fpdf2, factur-x with lxml and pypdf, and the adapter), each in a fresh
    interpreter, median of 5, against the bare interpreter;
(b) the first render in a process (font parsing, XSD schema load) and the median / p90 of N later renders of a
    Factur-X invoice (the FR sample), plus the agreement PDF;
(c) the size of the PDFs.
Also section 6 of `python -m bench` ("invoice pdf").
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import Report

ROOT = Path(__file__).resolve().parent.parent
IMPORT_RUNS = 5
PROBE = "import time; t = time.perf_counter(); {stmt}; print(f'{{(time.perf_counter() - t) * 1000:.1f}}')"


def _import_ms(stmt: str) -> float:
    samples = []
    for _ in range(IMPORT_RUNS):
        done = subprocess.run(
            [sys.executable, "-c", PROBE.format(stmt=stmt)], cwd=ROOT, capture_output=True, text=True, check=True
        )
        samples.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def _sample_invoice() -> Any:
    from decimal import Decimal

    from chalicelib.adapters.sellers import seller_catalog
    from chalicelib.domain.billing.document import Buyer, InvoicePaymentMethod, Period
    from chalicelib.domain.billing.pricing import build_invoice, price_term
    from chalicelib.domain.billing.terms import term_period
    from chalicelib.domain.models import PostalAddress

    start, end = term_period(datetime(2026, 12, 1, tzinfo=UTC).date(), 0, 12)
    price = price_term(
        seller_catalog("").get("FR"),
        Buyer(
            id="0001234567",
            name="Dupont BTP SARL",
            vat_id=None,
            address=PostalAddress(lines=("3 place Bellecour",), postal_code="69002", city="Lyon", country="FR"),
            country="FR",
        ),
        product_code="PROFIS-ENG",
        product_name="PROFIS Engineering Suite",
        quantity=5,
        unit_price=Decimal("450.00"),
        currency="EUR",
        term_months=12,
        period=Period(start=start, end=end),
        language="fr",
    )
    return build_invoice(
        price,
        invoice_id="bench-invoice",
        number="FR-2026-000001",
        subscription_id="bench-subscription",
        order_id="bench-order",
        kind="initial",
        issued_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        po_number="PO-7781",
        payment_method=InvoicePaymentMethod(type="invoice"),
    )


def main(renders: int = 20) -> None:
    measure(Report(), renders)


def run(report: Report, workdir: Path) -> list[str]:
    """Section of `python -m bench`: figures only, no target of the design's to judge them against."""
    measure(report, 20)
    return []


def measure(report: Report, renders: int) -> None:
    report.section("6. Invoice PDF: import cost (fresh interpreter, median of 5)")
    rows = []
    floor = _import_ms("pass")
    for label, stmt in (
        ("interpreter only", "pass"),
        ("domain (chalicelib.domain.billing.pricing)", "import chalicelib.domain.billing.pricing"),
        ("fpdf2", "import fpdf"),
        ("factur-x (lxml, pypdf, requests)", "import facturx"),
        ("adapter (chalicelib.adapters.pdf.facturx_pdf)", "import chalicelib.adapters.pdf.facturx_pdf"),
    ):
        ms = floor if stmt == "pass" else _import_ms(stmt)
        rows.append([label, f"{ms:.1f}"])
    report.table(["import", "ms"], rows)

    report.section(f"Invoice PDF: render time (this process, first render then median of {renders})")
    started = time.perf_counter()
    from chalicelib.adapters.pdf import agreement as agreement_pdf
    from chalicelib.adapters.pdf import facturx_pdf

    imported_ms = (time.perf_counter() - started) * 1000
    invoice = _sample_invoice()
    started = time.perf_counter()
    first = facturx_pdf.render_facturx_pdf(invoice)
    first_ms = (time.perf_counter() - started) * 1000
    samples = []
    for _ in range(renders):
        started = time.perf_counter()
        again = facturx_pdf.render_facturx_pdf(invoice)
        samples.append((time.perf_counter() - started) * 1000)
        assert again == first, "rendering is not deterministic"
    facts = agreement_pdf.AgreementFacts("bench-subscription", "PROFIS Engineering Suite", "Dupont BTP SARL", "FR", 5)
    agreement_samples = []
    agreement = b""
    for _ in range(max(3, renders // 4)):
        started = time.perf_counter()
        agreement = agreement_pdf.render_agreement_pdf(
            "Contrat", "Texte.\n\n" * 40, "FR-fr-2026.1", facts, None, "fr", invoice.issued_at
        )
        agreement_samples.append((time.perf_counter() - started) * 1000)
    deciles = statistics.quantiles(samples, n=10)
    report.table(
        ["step", "ms"],
        [
            ["import the PDF adapters (in process, warm disk)", f"{imported_ms:.1f}"],
            ["first invoice render", f"{first_ms:.1f}"],
            [f"invoice render, median of {renders}", f"{statistics.median(samples):.1f}"],
            [f"invoice render, p90 of {renders}", f"{deciles[-1]:.1f}"],
            [f"agreement render, median of {len(agreement_samples)}", f"{statistics.median(agreement_samples):.1f}"],
        ],
    )
    sizes = f"invoice PDF {len(first) / 1024:.1f} KiB, agreement PDF {len(agreement) / 1024:.1f} KiB"
    report.line(f"{sizes} (fonts subset and embedded)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
