"""Every document variant a French or German seller issues, checked with the official rules (DESIGN 15.3, 15.4; issue
14 items 2 and 3): the VAT treatment of 15.3's table, the CII of the Factur-X with 0 fatal/error assert from CEN EN
16931 and the Factur-X schematron, BR-FR 1.4 for French sellers with its warnings counted as errors, XRechnung's
BR-DE-5/6 (seller contact, phone) no longer firing, and the PDF printing what the XML states.

Orders are built in the domain as the issuing service builds them: a subscription's customer, `buyer_of` deriving
the SIREN and electronic address, `build_invoice` with the seller of the subscription's country."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from lxml import etree

from chalicelib.adapters.sellers import seller_catalog
from chalicelib.domain.billing.document import Invoice, Period
from chalicelib.domain.billing.json import invoice_to_json
from chalicelib.domain.billing.pricing import build_invoice, price_subscription_term
from chalicelib.domain.identifiers import ElectronicAddress
from chalicelib.domain.models import (
    Customer,
    PaymentMethod,
    Person,
    PostalAddress,
    Product,
    Subscription,
    SubscriptionStatus,
)
from devstack import einvoice_rules

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}
ISSUED_AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
TERM = Period(start=date(2026, 12, 1), end=date(2027, 11, 30))
RENEWAL_TERM = Period(start=date(2027, 12, 1), end=date(2028, 11, 30))


@dataclass(frozen=True)
class Buyer:
    name: str
    vat_id: str | None
    address: PostalAddress
    electronic_address: ElectronicAddress | None = None


BUYERS = {
    "FR": Buyer("Dupont BTP SARL", "FR44732829320", PostalAddress(
        lines=("3 place Bellecour",), postal_code="69002", city="Lyon", country="FR")),
    "DE": Buyer("Müller Bau GmbH", "DE136695976", PostalAddress(
        lines=("Hauptstraße 5",), postal_code="10115", city="Berlin", country="DE")),
    "CH": Buyer("Bau Zürich AG", "CHE-116.281.710 MWST", PostalAddress(
        lines=("Bahnhofstrasse 1",), postal_code="8001", city="Zürich", country="CH")),
    "GB": Buyer("Build London Ltd", "GB980780684", PostalAddress(
        lines=("10 Downing Lane",), postal_code="SW1A 2AA", city="London", country="GB")),
    # no VAT id in the US: the order gives the buyer's electronic address (its DUNS number, EAS 0060)
    "US": Buyer("Build Boston Inc", None, PostalAddress(
        lines=("1 Main Street",), postal_code="02110", city="Boston", country="US"),
        ElectronicAddress(scheme="0060", id="081466849")),
}  # fmt: skip

# variant -> (seller country, buyer country, currency, kind, expected VAT category)
VARIANTS = {
    "fr_domestic": ("FR", "FR", "EUR", "initial", "S"),
    "fr_to_de_reverse_charge": ("FR", "DE", "EUR", "initial", "AE"),
    "fr_to_ch_outside_scope": ("FR", "CH", "EUR", "initial", "O"),
    "fr_to_gb_outside_scope": ("FR", "GB", "EUR", "initial", "O"),
    "fr_to_us_outside_scope": ("FR", "US", "EUR", "initial", "O"),
    "fr_in_usd": ("FR", "FR", "USD", "initial", "S"),
    "fr_to_ch_in_usd": ("FR", "CH", "USD", "initial", "O"),
    "fr_renewal": ("FR", "FR", "EUR", "renewal", "S"),
    "de_domestic": ("DE", "DE", "EUR", "initial", "S"),
    "de_to_fr_reverse_charge": ("DE", "FR", "EUR", "initial", "AE"),
    "de_to_ch_outside_scope": ("DE", "CH", "EUR", "initial", "O"),
    "de_renewal": ("DE", "DE", "EUR", "renewal", "S"),
}
LANGUAGES = {"FR": "fr-FR", "DE": "de-DE"}


def subscription_for(seller_country: str, buyer_country: str, currency: str = "EUR", locale: str | None = None):
    buyer = BUYERS[buyer_country]
    return Subscription(
        id="sub-reform-1",
        order_id="SO-REFORM-1",
        status=SubscriptionStatus.ACTIVE,
        product=Product(code="PROFIS-ENG", name="PROFIS Engineering Suite"),
        country=seller_country,
        locale=locale or LANGUAGES[seller_country],
        customer=Customer(
            id="0001234567",
            name=buyer.name,
            vat_id=buyer.vat_id,
            address=buyer.address,
            electronic_address=buyer.electronic_address,
        ),
        admin=Person(email="marie@example.fr", name="Marie"),
        license_quantity=5,
        term_months=12,
        unit_price=Decimal("450.00"),
        currency=currency,
        po_number="PO-7781",
        payment_method=PaymentMethod(type="invoice"),
        ordered_at=datetime(2026, 11, 20, tzinfo=UTC),
        activation_deadline=datetime(2026, 12, 20, tzinfo=UTC),
        activated_at=datetime(2026, 12, 1, tzinfo=UTC),
        next_renewal_date=date(2027, 12, 1),
        agreement_version="FR-fr-2026.1",
    )


def issue(subscription: Subscription, kind: str = "initial", seller=None) -> Invoice:
    """The invoice as `Invoicing` issues it for the subscription's term."""
    seller = seller or seller_catalog("").get(subscription.country)
    term = RENEWAL_TERM if kind == "renewal" else TERM
    price = price_subscription_term(seller, subscription, Period(start=term.start, end=term.end))
    return build_invoice(
        price, invoice_id="inv-reform-1", number=f"{seller.country}-2026-000001", subscription_id=subscription.id,
        order_id=subscription.order_id, kind=kind,
        issued_at=ISSUED_AT if kind == "initial" else datetime(2027, 12, 1, 6, 0, tzinfo=UTC),
        po_number=subscription.po_number, payment_method=subscription.payment_method,
    )  # fmt: skip


@pytest.fixture(scope="module")
def rendered():
    """Each variant issued and rendered once: (invoice, its Factur-X PDF, the CII embedded in it)."""
    import facturx

    from chalicelib.adapters.pdf.facturx_pdf import render_facturx_pdf

    out = {}
    for name, (seller, buyer, currency, kind, _) in VARIANTS.items():
        invoice = issue(subscription_for(seller, buyer, currency), kind)
        pdf = render_facturx_pdf(invoice)
        _, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
        out[name] = (invoice, pdf, xml)
    return out


def _page_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.split())  # a mention wrapped over two lines reads as one


def _flat(text: str) -> str:
    return " ".join(text.split())


def _values(root, path: str) -> list[str]:
    return [node.text for node in root.xpath(path, namespaces=NS)]


# ------------------------------------------------------------------------------------------------ the official rules


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_passes_cen_factur_x_and_for_a_french_seller_br_fr_with_warnings_as_errors(rendered, variant):
    seller = VARIANTS[variant][0]
    _, _, xml = rendered[variant]
    rule_sets = einvoice_rules.rule_sets_for("cii", french_seller=seller == "FR")
    assert ("br-fr-cii" in rule_sets) is (seller == "FR")
    findings = einvoice_rules.blocking(xml, rule_sets)
    assert [(f.rule_set, f.rule_id, f.flag, f.text) for f in findings] == []


@pytest.mark.parametrize("variant", ["fr_domestic", "de_domestic", "de_to_ch_outside_scope"])
def test_xrechnung_no_longer_misses_the_seller_contact_or_phone(rendered, variant):
    fired = {finding.rule_id for finding in einvoice_rules.validate(rendered[variant][2], ["xrechnung-cii"])}
    assert not fired & {"BR-DE-5", "BR-DE-6", "BR-DE-2", "BR-DE-7"}


def test_the_rules_would_fire_on_what_the_reform_forbids(rendered):
    """The matrix above can fail: the same French invoice without its SIREN scheme or its PMT note is rejected."""
    xml = rendered["fr_domestic"][2]
    without_scheme = xml.replace(b'<ram:ID schemeID="0002">999000003</ram:ID>', b"<ram:ID>999000003</ram:ID>")
    without_pmt = xml.replace(b"<ram:SubjectCode>PMT</ram:SubjectCode>", b"")
    assert without_scheme != xml and without_pmt != xml
    fired = {f.rule_id for f in einvoice_rules.blocking(without_scheme, ["br-fr-cii"])}
    assert "BR-FR-10_BT-30" in fired
    fired = {f.rule_id for f in einvoice_rules.blocking(without_pmt, ["br-fr-cii"])}
    assert "BR-FR-05_BT-22_PMT" in fired


# ------------------------------------------------------------------------------------------------ the VAT treatment


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_variant_has_the_vat_of_design_15_3(rendered, variant):
    seller, _, _, _, category = VARIANTS[variant]
    invoice, _, xml = rendered[variant]
    body = invoice_to_json(invoice)
    root = etree.fromstring(xml)
    assert _values(root, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode") == [category]
    rate = {"FR": "20.00", "DE": "19.00"}[seller] if category == "S" else "0.00"
    assert body["tax_rate"] == rate
    if category == "S":
        assert body["tax_amount"] != "0.00" and not root.xpath("//ram:ExemptionReasonCode", namespaces=NS)
    else:
        assert body["tax_amount"] == "0.00" and body["total_amount"] == body["net_amount"]
        assert _values(root, "//ram:ExemptionReasonCode") == [f"VATEX-EU-{category}"]


@pytest.mark.parametrize("buyer", ["CH", "GB", "US"])
def test_the_french_seller_never_charges_french_vat_to_a_business_outside_the_eu(rendered, buyer):
    invoice, pdf, xml = rendered[f"fr_to_{buyer.lower()}_outside_scope"]
    assert (str(invoice.tax_amount), invoice.tax_breakdown[0].category) == ("0.00", "O")
    [reason] = _values(etree.fromstring(xml), "//ram:ApplicableTradeTax/ram:ExemptionReason")
    assert "article 259-1 du CGI" in reason and "TVA non applicable" in reason
    assert _flat(reason) in _page_text(pdf)
    assert "TVA 20,00 %" not in _page_text(pdf)


def test_an_outside_scope_document_states_no_vat_identifier_and_the_seller_s_number_as_tax_registration(rendered):
    _, pdf, xml = rendered["fr_to_ch_outside_scope"]
    root = etree.fromstring(xml)
    # EN 16931 BR-O-02: neither BT-31 nor BT-48; the seller's VAT number is its tax registration (BT-32, scheme FC)
    assert _values(root, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == []
    assert _values(root, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']") == [
        "FR42999000003"
    ]
    assert _values(root, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == []
    # the buyer's number, which shows it buys as a business, is still stated: in a note, and printed
    assert any("CHE-116.281.710 MWST" in note for note in _values(root, "//ram:IncludedNote/ram:Content"))
    text = _page_text(pdf)
    assert "FR42999000003" in text and "CHE-116.281.710 MWST" in text
    # printed once, under the buyer, and not as an EU ("intracommunautaire") VAT number
    assert text.count("Numéro d'identification fiscale du client : CHE-116.281.710 MWST") == 1
    assert "intracommunautaire: CHE" not in text


def test_the_mention_cites_the_seller_s_law_in_the_invoice_s_language(rendered):
    german_to_swiss = _values(etree.fromstring(rendered["de_to_ch_outside_scope"][2]), "//ram:ExemptionReason")
    assert german_to_swiss == [
        "Nicht im Inland steuerbare Leistung (§ 3a Abs. 2 UStG): Leistungsempfänger ist ein Unternehmer mit Sitz "
        "außerhalb der Europäischen Union."
    ]
    german_to_french = _values(etree.fromstring(rendered["de_to_fr_reverse_charge"][2]), "//ram:ExemptionReason")
    assert german_to_french == ["Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG; Art. 196 "
                                "MwSt-Systemrichtlinie 2006/112/EG)."]  # fmt: skip
    french_to_german = _values(etree.fromstring(rendered["fr_to_de_reverse_charge"][2]), "//ram:ExemptionReason")
    assert french_to_german == ["Autoliquidation\u00a0: TVA due par le preneur (article 196 de la directive "
                                "2006/112/CE\u00a0; article 259-1 du CGI)."]  # fmt: skip
    english = issue(subscription_for("FR", "GB", locale="en-GB")).tax_breakdown[0].exemption
    assert english is not None and "Article 259-1 of the French General Tax Code" in english.text


@pytest.mark.parametrize(
    ("seller", "buyer", "vat_id", "category"),
    [
        ("CH", "DE", "DE136695976", "O"),  # a Swiss seller: any buyer abroad
        ("CH", "LI", "CHE-116.281.710 MWST", "S"),  # Liechtenstein is in the Swiss VAT area
        ("GB", "FR", "FR44732829320", "O"),  # a British seller: the EU is abroad
        ("GB", "GB", "GB980780684", "S"),
        ("FR", "MC", None, "S"),  # Monaco is in the French VAT territory
        ("FR", "BE", None, "S"),  # an EU buyer without a VAT id pays the seller's VAT
        ("AT", "US", None, "O"),  # another EU seller cites the Directive
    ],
)
def test_the_vat_area_of_swiss_british_and_eu_sellers(seller, buyer, vat_id, category):
    from chalicelib.domain.billing.tax import vat_treatment

    treatment = vat_treatment(seller, Decimal("8.10"), buyer, vat_id, "en")
    assert treatment.category == category
    if category == "O":
        assert treatment.rate == 0 and treatment.exemption is not None
        assert treatment.exemption.code == "VATEX-EU-O"
        basis = {"CH": "MWSTG", "GB": "VATA 1994, s. 7A", "AT": "Article 44, Council Directive 2006/112/EC"}[seller]
        assert basis in treatment.exemption.text


def test_the_renewal_reminder_announces_the_total_the_renewal_invoices():
    for seller, buyer in (("FR", "CH"), ("FR", "FR"), ("DE", "FR")):
        subscription = subscription_for(seller, buyer)
        announced = price_subscription_term(seller_catalog("").get(seller), subscription, RENEWAL_TERM)
        invoiced = issue(subscription, "renewal")
        assert (announced.total, announced.treatment.category) == (
            invoiced.total_amount, invoiced.tax_breakdown[0].category
        )


# ------------------------------------------------------------------------------------------------ the reform's data


def test_a_french_invoice_states_the_reform_s_data(rendered):
    _, pdf, xml = rendered["fr_domestic"]
    root = etree.fromstring(xml)
    seller, buyer = "//ram:SellerTradeParty", "//ram:BuyerTradeParty"
    assert _values(root, "//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") == ["S1"]  # services
    assert _values(root, f"{seller}/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']") == ["999000003"]
    assert _values(root, f"{seller}/ram:URIUniversalCommunication/ram:URIID[@schemeID='0225']") == ["999000003"]
    assert _values(root, f"{buyer}/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']") == ["732829320"]
    assert _values(root, f"{buyer}/ram:URIUniversalCommunication/ram:URIID[@schemeID='0225']") == ["732829320"]
    contact = f"{seller}/ram:DefinedTradeContact"
    assert _values(root, f"{contact}/ram:PersonName") == ["Service facturation (SAMPLE)"]
    assert _values(root, f"{contact}/ram:TelephoneUniversalCommunication/ram:CompleteNumber") == ["+33 1 99 00 12 34"]
    subjects = _values(root, "//rsm:ExchangedDocument/ram:IncludedNote/ram:SubjectCode")
    assert {"PMD", "PMT", "AAB"} <= set(subjects) and len(subjects) == len(set(subjects))
    text = _page_text(pdf)
    for printed in ("SIREN: 999000003", "SIREN: 732829320", "0225:999000003", "0225:732829320",
                    "Service facturation (SAMPLE)", "+33 1 99 00 12 34", "40 EUR"):  # fmt: skip
        assert printed in text, printed


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_pdf_prints_every_note_and_electronic_address_the_xml_states(rendered, variant):
    _, pdf, xml = rendered[variant]
    root = etree.fromstring(xml)
    text = _page_text(pdf)
    for note in _values(root, "//rsm:ExchangedDocument/ram:IncludedNote/ram:Content"):
        assert _flat(note) in text, note
    for party in ("SellerTradeParty", "BuyerTradeParty"):
        for node in root.xpath(f"//ram:{party}/ram:URIUniversalCommunication/ram:URIID", namespaces=NS):
            assert f"{node.get('schemeID')}:{node.text}" in text
    for name in _values(root, "//ram:SellerTradeParty/ram:DefinedTradeContact/ram:PersonName"):
        assert name in text


def test_an_invoice_in_usd_states_its_vat_in_euros_at_the_issue_date_s_rate(rendered):
    invoice, pdf, xml = rendered["fr_in_usd"]
    body = invoice_to_json(invoice)
    assert body["currency"] == "USD"
    assert body["tax_currency"] == {"code": "EUR", "rate": "0.8600", "tax_amount": "387.00"}  # 450.00 x 0.86
    root = etree.fromstring(xml)
    assert _values(root, "//ram:ApplicableHeaderTradeSettlement/ram:TaxCurrencyCode") == ["EUR"]
    summation = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    assert _values(root, f"{summation}/ram:TaxTotalAmount[@currencyID='EUR']") == ["387.00"]
    assert _values(root, f"{summation}/ram:TaxTotalAmount[@currencyID='USD']") == ["450.00"]
    text = _page_text(pdf)
    assert "TVA en EUR (taux de change 0,8600)" in text and "387,00 EUR" in text
    assert invoice_to_json(rendered["fr_domestic"][0])["tax_currency"] is None


def test_the_rate_is_the_one_in_force_on_the_issue_date_and_kept_with_the_invoice():
    seller = seller_catalog("").get("FR")
    later = seller.model_copy(update={"exchange_rates": (
        *seller.exchange_rates,
        seller.exchange_rates[0].model_copy(update={"valid_from": date(2027, 6, 1), "rate": Decimal("0.9000")}),
    )})  # fmt: skip
    subscription = subscription_for("FR", "FR", "USD")
    assert issue(subscription, seller=later).tax_currency.rate == Decimal("0.8600")  # issued 2026-12-01
    renewal = issue(subscription, "renewal", seller=later)  # issued 2027-12-01
    assert (renewal.tax_currency.rate, str(renewal.tax_currency.tax_amount)) == (Decimal("0.9000"), "405.00")
    from chalicelib.domain.billing.json import invoice_from_record, invoice_to_record

    assert invoice_from_record(invoice_to_record(renewal)).tax_currency == renewal.tax_currency
    without_rate = seller.model_copy(update={"exchange_rates": ()})
    with pytest.raises(ValueError, match="no USD to EUR exchange rate in force on 2026-12-01"):
        issue(subscription, seller=without_rate)


def test_a_renewal_says_it_renews_the_subscription_for_its_period(rendered):
    _, pdf, xml = rendered["fr_renewal"]
    expected = "Renouvellement de l'abonnement pour la période du 01/12/2027 au 30/11/2028."
    assert expected in _values(etree.fromstring(xml), "//ram:IncludedNote/ram:Content")
    assert expected in _page_text(pdf)
    german = _values(etree.fromstring(rendered["de_renewal"][2]), "//ram:IncludedNote/ram:Content")
    assert "Verlängerung des Abonnements für den Zeitraum vom 01.12.2027 bis 30.11.2028." in german
    first = _values(etree.fromstring(rendered["fr_domestic"][2]), "//ram:IncludedNote/ram:Content")
    assert not any(note.startswith("Renouvellement") for note in first)


def test_the_vat_on_debits_option_when_the_seller_has_taken_it():
    from chalicelib.adapters.einvoice import semantic_of, serialize

    seller = seller_catalog("").get("FR").model_copy(update={"vat_on_debits": True})
    xml = serialize("cii", semantic_of(issue(subscription_for("FR", "FR"), seller=seller)))
    root = etree.fromstring(xml)
    assert _values(root, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:DueDateTypeCode") == ["5"]
    assert "Option pour le paiement de la taxe d'après les débits." in _values(root, "//ram:IncludedNote/ram:Content")
    assert einvoice_rules.blocking(xml, einvoice_rules.rule_sets_for("cii", french_seller=True)) == []
    plain = serialize("cii", semantic_of(issue(subscription_for("FR", "FR"))))
    assert b"DueDateTypeCode" not in plain and "débits".encode() not in plain


def test_a_french_seller_without_its_pmd_pmt_aab_mentions_is_refused_when_configured():
    import json

    from chalicelib.adapters.sellers import BUNDLED_SELLERS
    from chalicelib.domain.billing.sellers import load_sellers

    document = json.loads(BUNDLED_SELLERS.read_text(encoding="utf-8"))
    french = document["sellers"][0]
    assert french["country"] == "FR"
    french["legal_mentions"]["fr"] = [
        mention["text"] if isinstance(mention, dict) and mention["subject"] == "PMT" else mention
        for mention in french["legal_mentions"]["fr"]
    ]
    with pytest.raises(ValueError, match=r"seller FR: legal_mentions.fr needs a mention with each subject PMT"):
        load_sellers(json.dumps(document))
    french["legal_mentions"]["fr"].append({"subject": "PMD", "text": "again"})
    with pytest.raises(ValueError, match="gives the subject PMD twice"):
        load_sellers(json.dumps(document))


def test_the_sellers_subject_codes_survive_the_invoice_record():
    from chalicelib.domain.billing.json import invoice_from_record, invoice_to_record

    invoice = issue(subscription_for("FR", "FR"))
    again = invoice_from_record(invoice_to_record(invoice))
    assert again == invoice
    assert [m.subject for m in again.seller.coded_mentions("fr")] == ["REG", "PMD", "PMT", "AAB"]


@pytest.mark.parametrize(
    ("seller", "buyer", "currency", "category"),
    [("CH", "DE", "EUR", "O"), ("CH", "CH", "EUR", "S"), ("GB", "FR", "EUR", "O"), ("AT", "US", "EUR", "O")],
)
def test_swiss_british_and_other_eu_sellers_documents_pass_cen_and_factur_x(seller, buyer, currency, category):
    from chalicelib.adapters.einvoice import semantic_of, serialize

    locale = {"CH": "de-CH", "GB": "en-GB", "AT": "de-AT"}[seller]
    invoice = issue(subscription_for(seller, buyer, currency, locale=locale))
    assert invoice.tax_breakdown[0].category == category
    # a Swiss or British seller invoicing in EUR states the VAT in its accounting currency too
    assert (invoice.tax_currency is not None) is (seller in ("CH", "GB"))
    xml = serialize("cii", semantic_of(invoice))
    assert einvoice_rules.blocking(xml, einvoice_rules.rule_sets_for("cii", french_seller=False)) == []
