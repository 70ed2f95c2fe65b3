"""E-invoice documents per type and syntax (DESIGN 15.4): how long rendering and validating with the official rules
take.

Run: `.venv/bin/python -m bench.einvoice [N]`. For an invoice (380) and a credit note citing it (381), in each syntax
(CII inside Factur-X, the DE sample seller; UBL Peppol BIS 3.0, the BE sample seller, whose syntax is `ubl`), prints
(a) the XML alone: the semantic invoice built and serialized (XSD-checked for UBL), median of N;
(b) the stored documents as issuance renders them: the Factur-X PDF (CII embedded, XSD-checked), or the UBL and its
    PDF/A view, median of N;
(c) validation in-process with Saxon HE against the official rule sets of the syntax (`devstack/einvoice_rules.py`:
    CEN EN 16931 + Factur-X for CII, CEN EN 16931 + Peppol BIS 3.0 for UBL): the first call of the process (its
    stylesheets compiled) and the median of N later calls, with the fatal/error findings (0 expected);
(d) the document sizes.
Figures only (no target in the design). Also section 7 of `python -m bench` ("einvoice").
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.report import Report

SELLER_OF_SYNTAX = {"cii": "DE", "ubl": "BE"}
BUYERS = {
    "DE": ("Beispiel Kunde GmbH", ("Hauptstraße 5",), "10115", "Berlin", "DE123456789"),
    "BE": ("Client Exemple SA", ("Avenue Louise 54",), "1050", "Bruxelles", "BE0477000072"),
}


def _invoice(country: str) -> Any:
    """The sample seller's invoice of a 12-month term, built with the domain's one pricing function."""
    from chalicelib.adapters.sellers import seller_catalog
    from chalicelib.domain.billing.document import Buyer, Invoice, InvoicePaymentMethod, Period
    from chalicelib.domain.billing.pricing import price_term
    from chalicelib.domain.identifiers import derived_electronic_address
    from chalicelib.domain.models import PostalAddress

    seller = seller_catalog("").get(country)
    assert seller is not None
    name, lines, postal_code, city, vat_id = BUYERS[country]
    buyer = Buyer(
        id="0001234567", name=name, vat_id=vat_id, country=country,
        address=PostalAddress(lines=lines, postal_code=postal_code, city=city, country=country),
        electronic_address=derived_electronic_address(country, vat_id, None),
    )  # fmt: skip
    period = Period(start=date(2026, 12, 1), end=date(2027, 11, 30))
    price = price_term(
        seller, buyer, product_code="PROFIS-ENG", product_name="PROFIS Engineering Suite", quantity=5,
        unit_price=Decimal("450.00"), currency="EUR", term_months=12, period=period, language="en",
    )  # fmt: skip
    issued_at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    return Invoice(
        id="bench-invoice", number=f"{country}-2026-000001", subscription_id="bench-subscription",
        order_id="bench-order", kind="initial", issue_date=issued_at.date(), issued_at=issued_at,
        due_date=date(2026, 12, 31), period=period, seller=seller, buyer=buyer, po_number="PO-7781",
        lines=price.lines, currency="EUR", tax_breakdown=price.breakdown, net_amount=price.net,
        tax_amount=price.tax, total_amount=price.total, payment_method=InvoicePaymentMethod(type="invoice"),
        language=price.language,
    )  # fmt: skip


def _credit_note(invoice: Any) -> Any:
    from chalicelib.domain.billing.document import DocumentReference, Invoice

    cited = DocumentReference(id=invoice.id, number=invoice.number, issue_date=invoice.issue_date)
    number = invoice.number.replace("-2026-", "-2026-C")
    return Invoice.model_validate(
        {**invoice.model_dump(), "id": "bench-credit-note", "type": "credit_note", "cancels": cited, "number": number}
    )


def _median_ms(call: Callable[[], Any], runs: int) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


def main(runs: int = 10) -> None:
    measure(Report(), runs)


def run(report: Report, workdir: Path) -> list[str]:
    """Section of `python -m bench`: figures only; a failure is a measurement that could not run."""
    return measure(report, 10)


def measure(report: Report, runs: int) -> list[str]:
    from chalicelib.adapters.documents import render_invoice
    from chalicelib.adapters.einvoice import semantic_of, serialize
    from chalicelib.services.ports.invoices import FACTURX_PDF, UBL_XML, VIEW_PDF
    from devstack import einvoice_rules

    report.section(f"7. E-invoice documents per type and syntax (this process; medians of {runs})")
    if not einvoice_rules.available():
        report.line("the official rules folder is missing (set EINVOICE_RULES_DIR): nothing validated")
        return ["einvoice: official rules folder missing"]
    rows, failures, compiled = [], [], set()
    for syntax, country in SELLER_OF_SYNTAX.items():
        invoice = _invoice(country)
        for type_label, document in (("invoice", invoice), ("credit note", _credit_note(invoice))):
            formats = (FACTURX_PDF,) if syntax == "cii" else (UBL_XML, VIEW_PDF)
            render_invoice(document, formats[0])  # libraries loaded and fonts parsed: warm figures below
            xml_ms, xml = _median_ms(lambda d=document, s=syntax: serialize(s, semantic_of(d)), runs)
            stored_ms, stored = _median_ms(
                lambda d=document, f=formats: [render_invoice(d, fmt) for fmt in f], runs
            )
            rules = einvoice_rules.rule_sets_for(syntax, french_seller=False)
            started = time.perf_counter()
            findings = einvoice_rules.blocking(xml, rules)
            first = "-" if syntax in compiled else f"{(time.perf_counter() - started) * 1000:.0f}"
            compiled.add(syntax)
            validate_ms, _ = _median_ms(lambda x=xml, r=rules: einvoice_rules.validate(x, r), max(3, runs // 2))
            if findings:
                failures.append(f"einvoice: {syntax} {type_label} fires {sorted({f.rule_id for f in findings})}")
            sizes = " + ".join(f"{len(data) / 1024:.1f}" for data in stored)
            rows.append([
                type_label, f"{syntax.upper()} ({country})", f"{xml_ms:.1f}", f"{stored_ms:.1f}", first,
                f"{validate_ms:.1f}", str(len(findings)), f"{len(xml) / 1024:.1f}", sizes,
            ])  # fmt: skip
    report.table(
        ["document", "syntax (seller)", "XML ms", "stored docs ms", "validate 1st ms", "validate ms", "errors",
         "XML KiB", "stored KiB"],
        rows,
    )  # fmt: skip
    rule_sets = "; ".join(
        f"{syntax.upper()} = {' + '.join(einvoice_rules.rule_sets_for(syntax, french_seller=False))}"
        for syntax in SELLER_OF_SYNTAX
    )
    report.line(f"stored docs: the Factur-X PDF for CII; the UBL + its PDF/A view for UBL. validate: {rule_sets}")
    report.line("validate 1st: the process's first validation of that syntax, its stylesheets compiled")
    return failures


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
