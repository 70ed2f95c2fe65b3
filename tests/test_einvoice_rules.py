"""The official rule runner itself (devstack/einvoice_rules.py): it passes the publishers' own positive controls, it
fires on a document known to be wrong, and it fails loudly when the rules folder is missing, so a matrix test built on
it can never pass by finding nothing."""

from __future__ import annotations

import pytest

from devstack import einvoice_rules
from devstack.einvoice_rules import RulesUnavailable, blocking, rules_dir


def example(path: str) -> bytes:
    return (rules_dir() / "examples" / path).read_bytes()


def test_the_publishers_cii_example_passes_the_cen_rules():
    assert blocking(example("cii/CII_example1.xml"), ["cen-cii"]) == []


def test_the_peppol_examples_pass_cen_and_peppol_for_ubl():
    for name in ("ubl/base-example.xml", "ubl/base-creditnote-correction.xml"):
        assert blocking(example(name), ["cen-ubl", "peppol-ubl"]) == [], name


def test_a_document_whose_total_is_wrong_fires_the_cen_rule_that_checks_it():
    document = example("cii/CII_example1.xml")
    # BT-112 (grand total) of the example is 1000.00 + VAT; changing it breaks BR-CO-15 (total = net + tax).
    import re

    tampered = re.sub(
        rb"<ram:GrandTotalAmount>[^<]+</ram:GrandTotalAmount>",
        b"<ram:GrandTotalAmount>1.00</ram:GrandTotalAmount>",
        document,
        count=1,
    )
    assert tampered != document
    fired = {finding.rule_id for finding in blocking(tampered, ["cen-cii"])}
    assert "BR-CO-15" in fired


def test_the_french_rules_fire_on_a_document_without_the_reforms_data():
    fired = {finding.rule_id for finding in blocking(example("cii/CII_example1.xml"), ["br-fr-cii"])}
    assert any(rule.startswith("BR-FR-") for rule in fired)


def test_a_missing_rules_folder_is_an_error_never_an_empty_result(monkeypatch, tmp_path):
    monkeypatch.setenv("EINVOICE_RULES_DIR", str(tmp_path))
    assert einvoice_rules.available() is False
    with pytest.raises(RulesUnavailable, match="EINVOICE_RULES_DIR"):
        rules_dir()


def test_todays_german_domestic_invoice_passes_cen_and_factur_x():
    from chalicelib.adapters.einvoice import semantic_of, serialize
    from tests.test_billing_domain import make_invoice

    invoice = make_invoice(country="DE", language="de", buyer_address_country="DE")
    xml = serialize("cii", semantic_of(invoice))
    assert blocking(xml, einvoice_rules.rule_sets_for("cii", french_seller=False)) == []


def _cii(invoice) -> bytes:
    from chalicelib.adapters.einvoice import semantic_of, serialize

    return serialize("cii", semantic_of(invoice))


def test_a_german_reverse_charge_renewal_passes_cen_and_factur_x():
    from tests.test_billing_domain import make_invoice

    invoice = make_invoice(country="DE", language="de", buyer_address_country="FR", buyer_vat_id="FR12345678901",
                           kind="renewal")  # fmt: skip
    assert invoice.tax_breakdown[0].category == "AE"
    assert blocking(_cii(invoice), einvoice_rules.rule_sets_for("cii", french_seller=False)) == []


def test_a_credit_note_citing_its_invoice_passes_cen_and_factur_x():
    from chalicelib.domain.billing.document import DocumentReference, Invoice
    from tests.test_billing_domain import make_invoice

    invoice = make_invoice(country="DE", language="de", buyer_address_country="DE")
    cited = DocumentReference(id=invoice.id, number=invoice.number, issue_date=invoice.issue_date)
    note = Invoice.model_validate(
        {**invoice.model_dump(), "type": "credit_note", "cancels": cited, "number": "DE-2026-C000001"}
    )
    xml = _cii(note)
    assert b"<ram:TypeCode>381</ram:TypeCode>" in xml and invoice.number.encode() in xml
    assert blocking(xml, einvoice_rules.rule_sets_for("cii", french_seller=False)) == []


def test_a_term_the_cii_does_not_write_yet_is_refused_never_left_out():
    import dataclasses

    from chalicelib.adapters.einvoice import semantic_of, serialize
    from chalicelib.domain.einvoice import Identifier
    from tests.test_billing_domain import make_invoice

    document = semantic_of(make_invoice(country="DE", language="de", buyer_address_country="DE"))
    with_siren = dataclasses.replace(
        document, buyer=dataclasses.replace(document.buyer, legal_registration_id=Identifier("999000003", "0002"))
    )
    with pytest.raises(ValueError, match="does not write BT-47 yet"):
        serialize("cii", with_siren)
