"""Party identifiers (DESIGN 15.3): SIREN, EAS electronic addresses, their derivation, and the reform's seller data."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest

from chalicelib.domain.billing.sellers import load_sellers
from chalicelib.domain.identifiers import (
    EAS_CODES,
    ElectronicAddress,
    derived_electronic_address,
    french_siren_of_vat_id,
    siren_problem,
)
from devstack.einvoice_rules import rules_dir
from tests.test_billing_domain import BUNDLED_SELLERS


def test_the_eas_codes_are_the_ones_the_peppol_rules_check():
    schematron = (rules_dir() / "peppol" / "src" / "PEPPOL-EN16931-UBL.sch").read_text(encoding="utf-8")
    lists = re.findall(r"0002 0007 0009[0-9 ]+", schematron)
    assert lists, "the EAS list moved in the Peppol rules"
    assert {frozenset(found.split()) for found in lists} == {EAS_CODES}


def test_siren_is_nine_digits_with_a_luhn_check():
    assert siren_problem("999000003") is None
    assert "check digit" in (siren_problem("999000004") or "")
    assert "9 digits" in (siren_problem("99900000") or "")
    assert "9 digits" in (siren_problem("99900000３") or "")  # a full-width digit is not a digit here


def test_a_french_vat_id_holds_the_siren():
    assert french_siren_of_vat_id("FR42 999 000 003") == "999000003"
    assert french_siren_of_vat_id("FR42999000004") is None  # the SIREN inside fails its check
    assert french_siren_of_vat_id("DE999000009") is None
    assert french_siren_of_vat_id(None) is None


@pytest.mark.parametrize(
    ("country", "vat_id", "siren", "expected"),
    [
        ("FR", "FR42999000003", None, ("0225", "999000003")),
        ("FR", None, "999000003", ("0225", "999000003")),
        ("FR", None, None, None),
        ("BE", "BE 0999.123.457", None, ("0208", "0999123457")),
        ("DE", "DE 999 000 009", None, ("9930", "DE999000009")),
        ("CH", "CHE-999.000.002 MWST", None, ("9927", "CHE999000002MWST")),
        ("US", None, None, None),
        ("SE", "SE999999999901", None, None),  # Sweden has no VAT scheme in the EAS list: the order must give one
    ],
)
def test_the_buyer_electronic_address_is_derived_from_its_identifiers(country, vat_id, siren, expected):
    derived = derived_electronic_address(country, vat_id, siren)
    assert (derived.scheme, derived.id) == expected if expected else derived is None


@pytest.mark.parametrize(
    ("scheme", "identifier", "message"),
    [
        ("0225", "999000004", "check digit"),
        ("0208", "0999123458", "check digits"),
        ("0208", "999123457", "10 digits"),
        ("1234", "x", "not an EAS code"),
        ("9930", "DE 999", "letters, digits"),
        ("9930", "", "letters, digits"),
    ],
)
def test_a_wrong_electronic_address_says_what_is_wrong(scheme, identifier, message):
    with pytest.raises(ValueError, match=message):
        ElectronicAddress(scheme=scheme, id=identifier)
    assert ElectronicAddress(scheme="0225", id="999000003_ACCOUNTING").id == "999000003_ACCOUNTING"


def _with_french_seller(**changes):
    document = json.loads(BUNDLED_SELLERS.read_text(encoding="utf-8"))
    french = document["sellers"][0]
    for key, value in changes.items():
        if value is None:
            french.pop(key, None)
        else:
            french[key] = value
    return json.dumps(document)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"siren": None}, "siren is required for a French seller"),
        ({"siren": "999000004"}, "check digit"),
        ({"electronic_address": None}, "electronic_address is required"),
        ({"contact": None}, "contact"),
        ({"currencies": ["EUR", "USD", "JPY"]}, "rate to EUR for JPY"),
        ({"siret": "12345678901234"}, "SIRET"),
        ({"exchange_rates": [{"currency": "USD", "valid_from": "2026-01-01", "rate": "0"}]}, "positive"),
    ],
)
def test_a_seller_lacking_the_reform_data_is_refused_at_configuration(changes, message):
    with pytest.raises(ValueError, match=message):
        load_sellers(_with_french_seller(**changes))


def test_the_exchange_rate_in_force_on_the_issue_date():
    rates = [
        {"currency": "USD", "valid_from": "2026-01-01", "rate": "0.8600"},
        {"currency": "USD", "valid_from": "2026-12-01", "rate": "0.8700"},
    ]
    french = load_sellers(_with_french_seller(exchange_rates=rates))["FR"]
    assert french.exchange_rate("USD", date(2026, 11, 30)).rate == Decimal("0.8600")
    assert french.exchange_rate("USD", date(2026, 12, 1)).rate == Decimal("0.8700")
    assert french.exchange_rate("USD", date(2025, 12, 31)) is None
    assert french.invoices_in("USD") and not french.invoices_in("JPY")
