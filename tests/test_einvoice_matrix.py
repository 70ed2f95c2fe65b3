"""Every variant of document the portal issues (DESIGN 15.4), produced the way a customer gets it (an order through
intake, activation, the renewal job, the correction route) and read back through the API (`/xml`, `/pdf`), passes the
official rules of its syntax with nothing blocking: CEN EN 16931, Factur-X or Peppol BIS 3.0, and BR-FR 1.4 for
French sellers (warnings counted as errors). The PDF's text layer states the XML's business values."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from chalicelib import jobs
from chalicelib.domain.billing.formatting import format_amount, format_date
from devstack.einvoice_rules import blocking, rule_sets_for
from tests.support import ADMIN, order

FR_BUYER = {"id": "0001234567", "name": "Dupont BTP SARL", "vat_id": "FR11123456782",
            "address": {"lines": ["12 rue des Artisans", "Bâtiment B"], "postal_code": "69002", "city": "Lyon",
                        "country": "FR"}}  # fmt: skip
DE_BUYER = {"id": "0002234567", "name": "Muster Bau GmbH", "vat_id": "DE123456788",
            "address": {"lines": ["Hauptstraße 5"], "postal_code": "10115", "city": "Berlin", "country": "DE"}}
AT_BUYER = {"id": "0003234567", "name": "Alpen Bau GmbH", "vat_id": "ATU12345675",
            "address": {"lines": ["Ring 1"], "postal_code": "1010", "city": "Wien", "country": "AT"}}
BE_BUYER = {"id": "0004234567", "name": "Bouw Brussel NV", "vat_id": "BE0477472701",
            "address": {"lines": ["Rue Royale 10"], "postal_code": "1000", "city": "Bruxelles", "country": "BE"}}
CH_BUYER = {"id": "0005234567", "name": "Bau Zürich AG", "vat_id": "CHE-116.281.710",
            "address": {"lines": ["Bahnhofstrasse 1"], "postal_code": "8001", "city": "Zürich", "country": "CH"}}
GB_BUYER = {"id": "0006234567", "name": "Smith Structures Ltd", "vat_id": "GB912345603",
            "address": {"lines": ["1 King Street"], "postal_code": "EC2V 8AU", "city": "London", "country": "GB"}}
US_BUYER = {"id": "0007234567", "name": "Acme Builders Inc.",
            "address": {"lines": ["350 Fifth Avenue", "Suite 4100"], "postal_code": "10118", "city": "New York",
                        "country": "US"},
            "electronic_address": {"scheme": "0060", "id": "123456789"}}  # fmt: skip

LOCALES = {"FR": "fr-FR", "DE": "de-DE", "BE": "fr-BE"}
SYNTAX = {"FR": "cii", "DE": "cii", "BE": "ubl"}

VARIANTS: dict[str, dict[str, Any]] = {
    "fr-domestic": {"country": "FR", "customer": FR_BUYER},
    "fr-to-de-reverse-charge": {"country": "FR", "customer": DE_BUYER},
    "fr-to-ch-outside-scope": {"country": "FR", "customer": CH_BUYER},
    "fr-to-gb-outside-scope": {"country": "FR", "customer": GB_BUYER},
    "fr-to-us-outside-scope": {"country": "FR", "customer": US_BUYER},
    "fr-in-usd": {"country": "FR", "customer": FR_BUYER, "currency": "USD"},
    "fr-zero-price": {"country": "FR", "customer": FR_BUYER, "unit_price": "0.00"},
    "fr-ten-thousand-seats": {"country": "FR", "customer": FR_BUYER, "license_quantity": 10000},
    "de-domestic": {"country": "DE", "customer": DE_BUYER},
    "de-to-at-reverse-charge": {"country": "DE", "customer": AT_BUYER},
    "de-to-ch-outside-scope": {"country": "DE", "customer": CH_BUYER},
    "be-domestic": {"country": "BE", "customer": BE_BUYER},
    "be-to-de-reverse-charge": {"country": "BE", "customer": DE_BUYER},
    "be-to-us-outside-scope": {"country": "BE", "customer": US_BUYER},
}


def _get(client, stack, path: str, country: str, **headers: str):
    return client.http.get(path, headers={**stack.issuer.bearer(ADMIN, country), **headers})


def _bytes(response) -> bytes:
    body = response.body
    if isinstance(body, str):
        body = body.encode()
    return body if body.lstrip().startswith((b"%PDF", b"<")) else base64.b64decode(body)


def _subscribe(stack, name: str, **variant: Any) -> tuple[str, str]:
    country = variant["country"]
    message = order(
        order_id=f"45{abs(hash(name)) % 10**8:08d}",
        country=country,
        locale=LOCALES[country],
        customer=variant["customer"],
        admin={"email": ADMIN, "name": "Marie Dupont"},
        currency=variant.get("currency", "EUR"),
        unit_price=variant.get("unit_price", "450.00"),
        license_quantity=variant.get("license_quantity", 5),
    )
    created = jobs.receive_order(message)
    _activate(stack, created.subscription_id, country)
    return created.subscription_id, country


def _activate(stack, subscription_id: str, country: str) -> None:
    from chalicelib.domain.models import Role
    from chalicelib.services.identity import Caller, RequestContext

    c = stack.container
    admin = c.access.authorize(Caller(ADMIN, country), subscription_id, role=Role.ADMIN, active=False)
    c.activation.activate_in_portal(
        admin, accepted=True, agreement_version=admin.subscription.agreement_version,
        context=RequestContext("1.1.1.1", "matrix"),
    )  # fmt: skip


def _documents(client, stack, subscription_id: str, country: str) -> list[dict[str, Any]]:
    listed = _get(client, stack, f"/subscriptions/{subscription_id}/invoices", country)
    assert listed.status_code == 200, listed.body
    return json.loads(listed.body)["items"]


def _xml_and_pdf(client, stack, subscription_id: str, country: str, document_id: str) -> tuple[bytes, bytes]:
    base = f"/subscriptions/{subscription_id}/invoices/{document_id}"
    xml = _get(client, stack, f"{base}/xml", country, Accept="application/xml")
    assert xml.status_code == 200, xml.body
    pdf = _get(client, stack, f"{base}/pdf", country, Accept="application/pdf")
    assert pdf.status_code == 200, pdf.body
    return _bytes(xml), _bytes(pdf)


def _pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " "))


def _business_values(xml: bytes, document: dict[str, Any], country: str) -> list[str]:
    """The values the XML states that a reader of the PDF must find: number, dates, parties, addresses, ids, PO,
    lines and totals, printed the way the invoice's language prints them."""
    language = LOCALES[country][:2]
    tree = etree.fromstring(xml)
    texts = {node.text.strip() for node in tree.iter() if isinstance(node.tag, str) and node.text and node.text.strip()}
    values = [document["number"], document["seller"]["name"], document["buyer"]["name"]]
    values += [format_date(datetime.fromisoformat(document["issue_date"]).date(), language)]
    address = document["buyer"].get("address") or {}
    values += [line for line in address.get("lines", [])] + [address.get("postal_code"), address.get("city")]
    for identifier in (document["buyer"].get("vat_id"), document["seller"].get("vat_id"), document.get("po_number")):
        if identifier and identifier in texts:
            values.append(identifier)
    for line in document["lines"]:
        values.append(line["description"])
    values += [format_amount(Decimal(document[key]), language) for key in ("net_amount", "tax_amount", "total_amount")]
    return [value for value in values if value]


def _check(xml: bytes, pdf: bytes, document: dict[str, Any], country: str) -> None:
    syntax = SYNTAX[country]
    findings = blocking(xml, rule_sets_for(syntax, french_seller=country == "FR"))
    assert findings == [], [f"{f.rule_id}: {f.text}" for f in findings]
    text = _flat(_pdf_text(pdf))
    missing = [value for value in _business_values(xml, document, country) if _flat(value) not in text]
    assert missing == [], f"the PDF does not print {missing}"
    if syntax == "ubl":
        assert b"urn:fdc:peppol.eu:2017:poacc:billing:3.0" in xml


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_passes_the_official_rules_and_its_pdf_says_what_its_xml_says(stack, client, name):
    subscription_id, country = _subscribe(stack, name, **VARIANTS[name])
    [invoice] = _documents(client, stack, subscription_id, country)
    _check(*_xml_and_pdf(client, stack, subscription_id, country, invoice["id"]), invoice, country)


@pytest.mark.parametrize("country", ["FR", "BE"])
def test_a_renewal_passes_the_official_rules(stack, client, country):
    variant = VARIANTS[f"{country.lower()}-domestic"]
    subscription_id, _ = _subscribe(stack, f"renewal-{country}", **variant)
    stack.clock.moment = datetime(2027, 11, 26, 6, 0, tzinfo=UTC)
    stack.run_job("process_renewals")
    renewal, initial = _documents(client, stack, subscription_id, country)  # newest first
    assert renewal["kind"] == "renewal" and initial["kind"] == "initial"
    _check(*_xml_and_pdf(client, stack, subscription_id, country, renewal["id"]), renewal, country)


@pytest.mark.parametrize("country", ["FR", "DE", "BE"])
def test_a_credit_note_and_its_replacement_pass_the_official_rules(stack, client, country):
    variant = VARIANTS[f"{country.lower()}-domestic"]
    subscription_id, _ = _subscribe(stack, f"correction-{country}", **variant)
    [invoice] = _documents(client, stack, subscription_id, country)
    corrected = client.http.post(
        f"/subscriptions/{subscription_id}/invoices/{invoice['id']}/correction",
        headers={**stack.issuer.bearer(ADMIN, country), "Content-Type": "application/json"},
        body=json.dumps({"reason": "the buyer's accounts payable need PO-9000", "po_number": "PO-9000"}),
    )
    assert corrected.status_code == 201, corrected.body
    body = json.loads(corrected.body)
    credit_note, replacement = body["credit_note"], body["replacement"]
    assert credit_note["type"] == "credit_note" and credit_note["corrects"]["number"] == invoice["number"]
    assert replacement["type"] == "invoice" and replacement["po_number"] == "PO-9000"
    for document in (credit_note, replacement):
        _check(*_xml_and_pdf(client, stack, subscription_id, country, document["id"]), document, country)
