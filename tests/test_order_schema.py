"""docs/order-message.schema.json: generated from chalicelib.domain.order_schema, never edited by hand, and agreeing
with what intake accepts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from chalicelib.domain.errors import OrderRejected
from chalicelib.domain.order_schema import OrderMessage, json_schema, rendered
from chalicelib.domain.orders import parse_order
from devstack.sample import SAMPLE_ORDER

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "order-message.schema.json"


def _order(**changes: Any) -> dict[str, Any]:
    message = copy.deepcopy(SAMPLE_ORDER)
    for path, value in changes.items():
        *parents, name = path.split("__")
        target = message
        for parent in parents:
            target = target[parent]
        if value is _DROP:
            target.pop(name)
        else:
            target[name] = value
    return message


_DROP = object()

ACCEPTED = {
    "the sample": _order(),
    "no locale (intake falls back to en)": _order(locale=_DROP),
    "no PO number": _order(po_number=_DROP),
    "a null PO number": _order(po_number=None),
    "a field intake does not know": _order(channel="web shop"),
    "a card order": _order(payment_method__type="card"),
    "an electronic address": _order(customer__electronic_address={"scheme": "0225", "id": "999000011"}),
    "a buyer in Hong Kong without a postal code": _order(
        customer__address={"lines": ["1 Queen's Road"], "city": "Hong Kong", "country": "HK"}
    ),
}
REJECTED = {
    "no order_id": _order(order_id=_DROP),
    "an order_id with a space": _order(order_id="45 00"),
    "no admin": _order(admin=_DROP),
    "an invalid admin email": _order(admin__email="marie.dupont@"),
    "an empty customer name": _order(customer__name=""),
    "zero seats": _order(license_quantity=0),
    "seats as a string": _order(license_quantity="5"),
    "a 61-month term": _order(term_months=61),
    "a price as a JSON number": _order(unit_price=450.0),
    "a negative price": _order(unit_price="-1.00"),
    "a lower-case country": _order(country="fr"),
    "an unknown currency": _order(currency="EURO"),
    "a malformed locale": _order(locale="fr_FR!"),
    "a 36-character PO number": _order(po_number="P" * 36),
    "payment by cash": _order(payment_method__type="cash"),
    "card details in the payment method": _order(payment_method__card_number="4111111111111111"),
    "ordered_at as a number": _order(ordered_at=1764149400),
    "no buyer address": _order(customer__address=_DROP),
    "no street line": _order(customer__address__lines=[]),
    "no city": _order(customer__address__city=_DROP),
    "a French postal code of 4 digits": _order(customer__address__postal_code="6900"),
    "no postal code in France": _order(customer__address__postal_code=_DROP),
    "a SIREN of 8 digits": _order(customer__siren="99900001"),
    "an unknown EAS scheme": _order(customer__electronic_address={"scheme": "1234", "id": "999000011"}),
    "an electronic address with a blank": _order(customer__electronic_address={"scheme": "9930", "id": "DE 1"}),
}
# A JSON Schema validator checks "format": "date-time" only with optional packages: the model and intake check it.
REJECTED_BEYOND_THE_SCHEMA_KEYWORDS = {
    "ordered_at without a time zone": _order(ordered_at="2026-11-26T09:30:00"),
    "a SIREN with a wrong check digit": _order(customer__siren="999000012"),
    "a name the invoice PDF cannot print": _order(customer__name="日本建設"),
    "a 0208 address with a wrong check": _order(customer__electronic_address={"scheme": "0208", "id": "0999000031"}),
}


def _intake_accepts(message: dict[str, Any]) -> bool:
    try:
        parse_order(json.dumps(message))
    except OrderRejected:
        return False
    return True


def _model_accepts(message: dict[str, Any]) -> bool:
    try:
        OrderMessage.model_validate(message)
    except ValidationError:
        return False
    return True


def _schema_accepts(message: dict[str, Any]) -> bool:
    return bool(jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text())).is_valid(message))


def test_the_committed_schema_is_the_generated_one() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == rendered(), (
        "docs/order-message.schema.json is out of date: run `make docs` and commit it"
    )


def test_the_schema_is_a_valid_draft_2020_12_schema_with_the_sample_as_its_example() -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema())
    assert json_schema()["examples"] == [SAMPLE_ORDER]


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_intake_the_model_and_the_schema_accept(case: str) -> None:
    message = ACCEPTED[case]
    assert (_intake_accepts(message), _model_accepts(message), _schema_accepts(message)) == (True, True, True)


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_intake_the_model_and_the_schema_reject(case: str) -> None:
    message = REJECTED[case]
    assert (_intake_accepts(message), _model_accepts(message), _schema_accepts(message)) == (False, False, False)


@pytest.mark.parametrize("case", sorted(REJECTED_BEYOND_THE_SCHEMA_KEYWORDS))
def test_intake_and_the_model_reject(case: str) -> None:
    message = REJECTED_BEYOND_THE_SCHEMA_KEYWORDS[case]
    assert (_intake_accepts(message), _model_accepts(message)) == (False, False)
