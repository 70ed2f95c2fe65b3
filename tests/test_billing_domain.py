"""Billing domain (DESIGN 14): amounts, reverse charge, renewal dates, numbers, sellers, the invoice JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chalicelib.adapters.sellers import BUNDLED_SELLERS, seller_catalog
from chalicelib.domain.billing.document import Buyer, Invoice, Period
from chalicelib.domain.billing.formatting import format_money
from chalicelib.domain.billing.json import invoice_from_record, invoice_to_json, invoice_to_record
from chalicelib.domain.billing.numbering import invoice_number, series_key
from chalicelib.domain.billing.pricing import build_invoice, price_term
from chalicelib.domain.billing.sellers import iban_is_valid, load_sellers
from chalicelib.domain.billing.tax import is_reverse_charge
from chalicelib.domain.billing.terms import renewal_date, term_period
from chalicelib.domain.models import PaymentMethod, PostalAddress

EXPECTED_RATES = {
    "FR": "20.00", "DE": "19.00", "AT": "20.00", "CH": "8.10", "GB": "20.00",
    "IT": "22.00", "ES": "21.00", "BE": "21.00", "NL": "21.00",
}  # fmt: skip


def _strings(price):
    return tuple(str(v) for v in (price.net, price.treatment.rate, price.tax, price.total))


def price_one_line(quantity, unit_price, vat_rate, currency, reverse_charge):
    """One line priced by `price_term` (the one pricing of a term), a French seller at `vat_rate` selling to a French
    buyer, or to a Belgian one with a VAT id (reverse charge)."""
    seller = _sellers().get("FR").model_copy(update={"vat_rate": vat_rate})
    country, vat_id = ("BE", "BE0999123457") if reverse_charge else ("FR", None)
    address = PostalAddress(lines=("1 rue",), postal_code="69002", city="Lyon", country=country)
    buyer = Buyer(id="0001234567", name="Dupont BTP SARL", vat_id=vat_id, address=address, country="FR")
    return price_term(
        seller, buyer, product_code="PROFIS-ENG", product_name="PROFIS Engineering Suite", quantity=quantity,
        unit_price=unit_price, currency=currency, term_months=12,
        period=Period(start=date(2026, 12, 1), end=date(2027, 11, 30)), language="fr",
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------------------- amounts


def test_design_example_amounts():
    assert _strings(price_one_line(5, Decimal("450.00"), Decimal("20.00"), "EUR", False)) == (
        "2250.00", "20.00", "450.00", "2700.00",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("quantity", "price", "rate", "expected_net", "expected_tax"),
    [
        (1, "0.05", "10.00", "0.05", "0.01"),  # tax 0.005 -> 0.01 (half-up, not half-even's 0.00)
        (1, "0.025", "20.00", "0.03", "0.01"),  # net 0.025 -> 0.03; tax 0.006 -> 0.01
        (3, "0.0150", "20.00", "0.05", "0.01"),  # net 0.045 -> 0.05 (unit prices carry 4 decimals)
        (1, "10.25", "8.10", "10.25", "0.83"),  # 0.83025 -> 0.83
        (1, "12.35", "19.00", "12.35", "2.35"),  # 2.3465 -> 2.35
        (7, "99.99", "21.00", "699.93", "146.99"),  # 146.9853 -> 146.99
        (1, "0.00", "20.00", "0.00", "0.00"),
    ],
)
def test_amounts_round_half_up_once_each(quantity, price, rate, expected_net, expected_tax):
    amounts = price_one_line(quantity, Decimal(price), Decimal(rate), "EUR", False)
    assert (str(amounts.net), str(amounts.tax)) == (expected_net, expected_tax)
    assert amounts.total == amounts.net + amounts.tax


def test_reverse_charge_has_zero_rate_and_tax():
    assert _strings(price_one_line(5, Decimal("450.00"), Decimal("20.00"), "EUR", True)) == (
        "2250.00", "0.00", "0.00", "2250.00",
    )  # fmt: skip


def test_zero_decimal_currency_rounds_to_whole_units_but_prints_two_decimals():
    amounts = price_one_line(3, Decimal("333.5"), Decimal("10.00"), "JPY", False)
    assert _strings(amounts) == ("1001.00", "10.00", "100.00", "1101.00")  # 1000.5 -> 1001; 100.1 -> 100


def test_negative_inputs_are_refused():
    with pytest.raises(ValueError):
        price_one_line(-1, Decimal("1.00"), Decimal("20.00"), "EUR", False)
    with pytest.raises(ValueError):
        price_one_line(1, Decimal("-1.00"), Decimal("20.00"), "EUR", False)


@pytest.mark.parametrize(
    ("language", "printed"), [("en", "1,234,567.50 EUR"), ("fr", "1 234 567,50 EUR"), ("de", "1.234.567,50 EUR")]
)
def test_money_as_printed(language, printed):
    assert format_money(Decimal("1234567.5"), "EUR", language) == printed


# --------------------------------------------------------------------------------------------------- reverse charge


@pytest.mark.parametrize(
    ("seller", "buyer_country", "vat_id", "reverse"),
    [
        ("FR", "BE", "BE0999123457", True),
        ("FR", "BE", None, False),
        ("FR", "BE", "  ", False),
        ("FR", "FR", "FR42999000003", False),
        ("FR", "CH", "CHE-999.000.002", False),  # Switzerland is not in the EU
        ("FR", "GB", "GB999000005", False),  # nor, since 2020, the United Kingdom
        ("GB", "FR", "FR42999000003", False),
        ("CH", "DE", "DE999000009", False),
        ("DE", "AT", "ATU99900009", True),
        ("DE", "GR", "EL123456789", True),  # Greece: GR address, EL VAT prefix
        ("FR", None, "BE0999123457", False),  # no buyer address: the buyer's country is unknown
    ],
)
def test_reverse_charge_matrix(seller, buyer_country, vat_id, reverse):
    assert is_reverse_charge(seller, buyer_country, vat_id) is reverse


# ---------------------------------------------------------------------------------------------------- renewal dates


def test_monthly_from_31_january_clamps_without_drift():
    anchor = date(2027, 1, 31)
    assert [renewal_date(anchor, k, 1) for k in range(1, 7)] == [
        date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30),
        date(2027, 5, 31), date(2027, 6, 30), date(2027, 7, 31),
    ]  # fmt: skip
    assert renewal_date(date(2028, 1, 31), 1, 1) == date(2028, 2, 29)
    assert renewal_date(anchor, 12, 1) == date(2028, 1, 31)


def test_yearly_from_29_february():
    anchor = date(2028, 2, 29)
    assert [renewal_date(anchor, k, 12) for k in range(5)] == [
        date(2028, 2, 29), date(2029, 2, 28), date(2030, 2, 28), date(2031, 2, 28), date(2032, 2, 29),
    ]  # fmt: skip


def test_term_period_ends_the_day_before_the_next_renewal():
    assert term_period(date(2026, 12, 1), 0, 12) == (date(2026, 12, 1), date(2027, 11, 30))
    assert term_period(date(2027, 1, 31), 0, 1) == (date(2027, 1, 31), date(2027, 2, 27))
    assert term_period(date(2027, 1, 31), 1, 1) == (date(2027, 2, 28), date(2027, 3, 30))
    assert term_period(date(2027, 1, 31), 2, 1) == (date(2027, 3, 31), date(2027, 4, 29))


def test_renewal_date_refuses_nonsense():
    with pytest.raises(ValueError):
        renewal_date(date(2027, 1, 1), -1, 12)
    with pytest.raises(ValueError):
        renewal_date(date(2027, 1, 1), 1, 0)


# ---------------------------------------------------------------------------------------------------------- numbers


def test_invoice_numbers():
    assert invoice_number("FR", 2026, 1) == "FR-2026-000001"
    assert invoice_number("DE", 2027, 999999) == "DE-2027-999999"
    assert series_key("FR", 2026) == "FR-2026"
    for bad in ((("FR", 2026, 0)), ("FR", 2026, 1_000_000), ("fr", 2026, 1), ("FRA", 2026, 1)):
        with pytest.raises(ValueError):
            invoice_number(*bad)


# ---------------------------------------------------------------------------------------------------------- sellers


def test_every_listed_country_has_a_sample_seller_with_its_vat_rate_and_a_valid_iban():
    sellers = load_sellers(BUNDLED_SELLERS.read_text(encoding="utf-8"))
    assert set(EXPECTED_RATES) <= set(sellers)
    for country, rate in EXPECTED_RATES.items():
        seller = sellers[country]
        assert str(seller.vat_rate) == rate, country
        assert iban_is_valid(seller.iban), country
        assert seller.iban.startswith(country)
        assert "SAMPLE" in seller.name
        assert seller.mentions("en"), country


def test_a_seller_without_einvoice_settings_writes_factur_x_and_emails_it():
    sellers = load_sellers(_sellers_doc())
    assert (sellers["FR"].einvoice.syntax, sellers["FR"].einvoice.channel) == ("factur-x", "email")
    chosen = load_sellers(_sellers_doc(einvoice={"syntax": "ubl", "channel": "flow_service"}))["FR"].einvoice
    assert (chosen.syntax, chosen.channel) == ("ubl", "flow_service")


def test_french_and_german_legal_mentions():
    sellers = load_sellers(BUNDLED_SELLERS.read_text(encoding="utf-8"))
    french = " ".join(sellers["FR"].mentions("fr"))
    assert "40 EUR" in french and "Pénalités de retard" in french
    assert "Handelsregister" in " ".join(sellers["DE"].mentions("de"))
    assert sellers["DE"].mentions("it") == sellers["DE"].mentions("en")  # falls back to English


def test_iban_checksum():
    assert iban_is_valid("FR76 3000 6000 0112 3456 7890 189")
    assert not iban_is_valid("FR76 3000 6000 0112 3456 7890 188")
    assert not iban_is_valid("not an iban")


def _sellers_doc(**changes):
    document = json.loads(BUNDLED_SELLERS.read_text(encoding="utf-8"))
    document["sellers"][0].update(changes)
    return json.dumps(document)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"iban": "FR7619990000010001234567841"}, "iban"),
        ({"vat_rate": 20.0}, "decimal string"),
        ({"vat_rate": "20.005"}, "2 decimals"),
        ({"vat_rate": "120.00"}, "percentage"),
        ({"country": "DE"}, "address country"),
        ({"bic": "nope"}, "BIC"),
        ({"einvoice": {"syntax": "pdf"}}, "einvoice.syntax must be one of factur-x, ubl"),
        ({"einvoice": {"channel": "fax"}}, "einvoice.channel must be one of email, flow_service"),
        ({"einvoice": {"syntax": "ubl", "format": "x"}}, "format"),
    ],
)
def test_a_wrong_sellers_file_names_the_seller_and_the_problem(changes, message):
    with pytest.raises(ValueError, match=message):
        load_sellers(_sellers_doc(**changes))


def test_sellers_file_shape_errors():
    for text in ("not json", "[]", '{"sellers": []}'):
        with pytest.raises(ValueError):
            load_sellers(text)


def test_catalog_from_env_inline_path_and_default(tmp_path):
    inline = json.dumps({"sellers": [json.loads(BUNDLED_SELLERS.read_text(encoding="utf-8"))["sellers"][1]]})
    assert seller_catalog(inline).countries() == {"DE"}
    path = tmp_path / "sellers.json"
    path.write_text(inline, encoding="utf-8")
    catalog = seller_catalog(str(path))
    assert catalog.get("DE") is not None and catalog.get("FR") is None
    assert seller_catalog("").get("FR") is not None
    with pytest.raises(RuntimeError, match="cannot read"):
        seller_catalog(str(tmp_path / "missing.json"))


# ---------------------------------------------------------------------------------------------------------- invoice


def _sellers():
    return seller_catalog("")


def make_invoice(
    country="FR", language="fr", buyer_address_country="FR", buyer_vat_id=None, method=None, po="PO-7781", **kw
) -> Invoice:
    address = PostalAddress(
        lines=("3 place Bellecour",), postal_code="69002", city="Lyon", country=buyer_address_country
    )
    seller = _sellers().get(country)
    buyer = Buyer(id="0001234567", name="Dupont BTP SARL", vat_id=buyer_vat_id, address=address, country=country)
    price = price_term(
        seller, buyer, product_code="PROFIS-ENG", product_name="PROFIS Engineering Suite", quantity=5,
        unit_price=Decimal("450.00"), currency="EUR", term_months=kw.get("term_months", 12),
        period=Period(start=date(2026, 12, 1), end=date(2027, 11, 30)), language=language,
    )  # fmt: skip
    return build_invoice(
        price,
        invoice_id="inv-0001",
        number=invoice_number(country, 2026, 1),
        subscription_id="sub-0001",
        order_id="ord-0001",
        kind=kw.get("kind", "initial"),
        issued_at=kw.get("issued_at", datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        po_number=po,
        payment_method=method or PaymentMethod(type="invoice"),
    )


def test_invoice_json_has_exactly_the_design_shape():
    body = invoice_to_json(make_invoice(language="en"))
    assert body == {
        "id": "inv-0001",
        "number": "FR-2026-000001",
        "type": "invoice",
        "subscription_id": "sub-0001",
        "order_id": "ord-0001",
        "kind": "initial",
        "issue_date": "2026-12-01",
        "issued_at": "2026-12-01T10:00:00.000Z",
        "due_date": "2026-12-31",
        "period": {"start": "2026-12-01", "end": "2027-11-30"},
        "seller": {
            "name": "Exemple Logiciels France SAS (SAMPLE)",
            "address": {"lines": ["12 rue de l'Exemple"], "postal_code": "69002", "city": "Lyon", "country": "FR"},
            "vat_id": "FR42999000003",
            "registration": "SIREN 999 000 003, RCS Lyon",
        },
        "buyer": {
            "id": "0001234567",
            "name": "Dupont BTP SARL",
            "vat_id": None,
            "address": {"lines": ["3 place Bellecour"], "postal_code": "69002", "city": "Lyon", "country": "FR"},
            "country": "FR",
        },
        "po_number": "PO-7781",
        "lines": [
            {
                "product_code": "PROFIS-ENG",
                "description": "PROFIS Engineering Suite, 12 months",
                "quantity": 5,
                "unit_price": "450.00",
                "amount": "2250.00",
                "period": {"start": "2026-12-01", "end": "2027-11-30"},
                "tax_category": "S",
                "tax_rate": "20.00",
            }
        ],
        "currency": "EUR",
        "net_amount": "2250.00",
        "tax_rate": "20.00",
        "tax_amount": "450.00",
        "total_amount": "2700.00",
        "tax_breakdown": [
            {"category": "S", "rate": "20.00", "taxable_amount": "2250.00", "tax_amount": "450.00",
             "exemption_reason": None},
        ],
        "payment_method": {"type": "invoice"},
        "corrects": None,
        "replaces": None,
        "corrected_by": None,
        "tax_currency": None,
    }  # fmt: skip


def test_card_shows_only_brand_and_last4():
    card = PaymentMethod(type="card", token="tok_visa_1", brand="visa", last4="4242", exp_month=12, exp_year=2030)
    body = invoice_to_json(make_invoice(method=card))
    assert body["payment_method"] == {"type": "card", "brand": "visa", "last4": "4242"}
    assert "tok_visa_1" not in json.dumps(invoice_to_record(make_invoice(method=card)))


def test_descriptions_are_localised():
    assert make_invoice(language="fr").lines[0].description == "PROFIS Engineering Suite, 12 mois"
    assert make_invoice(language="de-AT").lines[0].description == "PROFIS Engineering Suite, 12 Monate"
    assert make_invoice(language="en", term_months=1).lines[0].description == "PROFIS Engineering Suite, 1 month"
    assert make_invoice(language="it").language == "en"


def test_issue_date_is_the_utc_date_and_due_date_adds_payment_terms():
    late_evening_paris = datetime.fromisoformat("2027-01-01T00:30:00+01:00")  # still 31 Dec in UTC
    invoice = make_invoice(issued_at=late_evening_paris)
    assert invoice_to_json(invoice)["issue_date"] == "2026-12-31"
    assert invoice_to_json(invoice)["due_date"] == "2027-01-30"
    assert invoice_to_json(invoice)["issued_at"] == "2026-12-31T23:30:00.000Z"


def test_reverse_charged_invoice_for_an_eu_business_in_another_country():
    invoice = make_invoice(buyer_address_country="BE", buyer_vat_id="BE0999123457")
    body = invoice_to_json(invoice)
    assert invoice.reverse_charge
    assert (body["tax_rate"], body["tax_amount"], body["total_amount"]) == ("0.00", "0.00", "2250.00")
    assert not make_invoice(buyer_address_country="BE").reverse_charge


def test_record_round_trips_without_floats():
    invoice = make_invoice(buyer_address_country="BE", buyer_vat_id="BE0999123457", language="de")
    record = invoice_to_record(invoice)
    text = json.dumps(record)
    assert "2250.00" in text and not any(isinstance(v, float) for v in _leaves(record))
    assert invoice_from_record(json.loads(text)) == invoice


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def test_build_refuses_a_time_without_zone():
    with pytest.raises(ValueError):
        make_invoice(issued_at=datetime(2026, 12, 1, 10, 0))
