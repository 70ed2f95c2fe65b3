"""Regression tests for defects an attacker found in order intake (DESIGN section 4) and what follows it."""

from __future__ import annotations

import pytest

from chalicelib import jobs
from chalicelib.domain.errors import OrderRejected
from chalicelib.domain.reference import CURRENCIES
from tests.support import order


def _rejected(message: dict) -> list[str]:
    with pytest.raises(OrderRejected) as rejected:
        jobs.receive_order(message)
    return list(rejected.value.reasons)


# ---------------------------------------------------------------------------------------------------- currencies


@pytest.mark.parametrize("currency", ["BGN", "ANG"])
def test_order_in_a_currency_the_invoice_cannot_carry_is_rejected(stack, currency):
    reasons = _rejected(order(currency=currency))

    assert any(reason.startswith("currency:") for reason in reasons), reasons
    assert stack.sent() == []


def test_every_accepted_currency_can_be_written_into_the_e_invoice():
    from iso4217 import Currency

    unsupported = []
    for code in sorted(CURRENCIES):
        try:
            Currency(code)
        except Exception:  # any refusal from the table means the invoice could never render
            unsupported.append(code)
    assert unsupported == []


# ---------------------------------------------------------------------------------------------------- unit_price


@pytest.mark.parametrize(
    "price",
    ["1E+99", "1E+3", "1e3", "1_000", "-0", "-0.00", " 450.00 ", "450.00\n", "\u0664\u0665\u0660", "+450", "450.",
     ".5", "0x10", "NaN", "Infinity", "4500000000000000", "1.23456"],
)
def test_unit_price_outside_the_published_pattern_is_rejected_naming_the_field(stack, price):
    reasons = _rejected(order(unit_price=price))

    assert any(reason.startswith("unit_price:") for reason in reasons), reasons
    assert stack.sent() == []


@pytest.mark.parametrize("price", ["0", "450", "450.00", "999999999999999.9999", "0.0001"])
def test_unit_price_in_the_published_pattern_is_accepted(stack, price):
    assert jobs.receive_order(order(unit_price=price)).created


# ---------------------------------------------------------------------------------------- anchored patterns (\Z)


@pytest.mark.parametrize("field,value", [("order_id", "4500012345\n"), ("locale", "fr-FR\n")])
def test_a_trailing_newline_is_refused(stack, field, value):
    reasons = _rejected(order(**{field: value}))

    assert any(reason.startswith(f"{field}:") for reason in reasons), reasons
    assert stack.sent() == []


def test_the_other_anchored_checks_refuse_a_trailing_newline():
    from datetime import date

    from chalicelib.domain.activation_links import looks_like_token
    from chalicelib.domain.errors import InvalidInput
    from chalicelib.domain.payment import parse_payment_method

    assert not looks_like_token("A" * 43 + "\n")
    card = {"type": "card", "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}
    parse_payment_method({**card, "token": "tok_visa"}, date(2026, 12, 1))
    for bad in ({"token": "tok_visa\n"}, {"token": "tok_visa", "last4": "\u0664\u0662\u0664\u0662"}):
        with pytest.raises(InvalidInput):
            parse_payment_method({**card, **bad}, date(2026, 12, 1))


# ------------------------------------------------------------------------------------------- e-invoice address


def test_every_buyer_address_line_reaches_the_e_invoice_xml():
    import dataclasses

    from lxml import etree

    from chalicelib.adapters.pdf import facturx_pdf
    from tests.test_billing_domain import make_invoice
    from tests.test_invoice_pdf import NS, _xml

    invoice = make_invoice()
    lines = ("Dupont BTP SARL, Comptabilité", "Bâtiment B", "3 place Bellecour", "BP 1234")
    address = dataclasses.replace(invoice.buyer.address, lines=lines)
    invoice = invoice.model_copy(update={"buyer": invoice.buyer.model_copy(update={"address": address})})

    root = etree.fromstring(_xml(facturx_pdf.render_facturx_pdf(invoice)))

    [address] = root.xpath("//ram:BuyerTradeParty/ram:PostalTradeAddress", namespaces=NS)
    written = [address.findtext(f"ram:{tag}", namespaces=NS) for tag in ("LineOne", "LineTwo", "LineThree")]
    assert written == ["Dupont BTP SARL, Comptabilité", "Bâtiment B", "3 place Bellecour, BP 1234"]


# ------------------------------------------------------------------------------- invoice PDF that cannot render


def test_an_invoice_pdf_that_cannot_render_holds_back_only_its_email_names_the_invoice_and_goes_once_fixed(
    stack, monkeypatch, caplog
):
    import logging

    from chalicelib.services.invoice_documents import InvoiceDocuments
    from tests.support import activate

    sub = jobs.receive_order(order()).subscription_id
    real = InvoiceDocuments.pdf_of

    def broken(self, invoice):
        raise RuntimeError("Currency XXX is not supported by the iso4217 lib")

    monkeypatch.setattr(InvoiceDocuments, "pdf_of", broken)
    with caplog.at_level(logging.INFO, logger="chalicelib.services.outbox"):
        activate(stack, sub)  # the invoice email's first try fails; the confirmation still goes
        jobs.receive_order(order(order_id="4500099999", admin={"email": "other@example.fr", "name": "O"}))
        stack.clock.advance(minutes=30)
        summary = jobs.run_outbox()

    assert summary["failed"] == 1
    assert summary["oldest_due_age_s"] > 900  # OutboxBacklogAlarm's threshold: the waiting invoice email pages someone
    assert [m["To"] for m in stack.mails_to("other@example.fr")] == ["other@example.fr"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and all(getattr(r, "invoice_number", None) == "FR-2026-000001" for r in errors)
    assert "FR-2026-000001" in errors[0].getMessage()

    def invoice_mails():
        return [m for m in stack.mails_to("marie.dupont@example.fr") if "FR-2026-000001" in m["Subject"]]

    assert invoice_mails() == []

    monkeypatch.setattr(InvoiceDocuments, "pdf_of", real)  # the renderer fixed: the waiting email goes, with its PDF
    stack.clock.advance(hours=2)
    assert jobs.run_outbox()["sent"] == 1
    [mail] = invoice_mails()
    assert [part.get_filename() for part in mail.iter_attachments()] == ["FR-2026-000001.pdf"]
