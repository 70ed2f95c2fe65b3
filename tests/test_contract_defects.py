"""Regression tests for the contract defects a hostile tester found (issue 9): each is a bad input or a race that
once answered 500, stored a card number, leaked across countries or disordered the history."""

from __future__ import annotations

import json

import pytest

from chalicelib import jobs
from chalicelib.domain.errors import OrderRejected
from chalicelib.domain.models import parse_utc
from tests.support import order
from tests.test_administration import CARD, body_of, call

HUGE_INT = "9" * 5000  # Python's int() refuses more than 4,300 digits with a ValueError of its own


def _assert_clean_error(response, status):
    assert response.status_code == status, response.body
    body = body_of(response)
    assert set(body) == {"Code", "Message"} and "Traceback" not in response.body.decode()
    assert response.headers["Cache-Control"] == "no-store"


# -- defect 2: 500s with a traceback for bad input -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "/activation", '{"accept_agreement": true, "agreement_version": "v", "n": %s}'),
        ("POST", "/users", '{"email": "a@example.fr", "name": "A", "n": %s}'),
        ("POST", "/admin-transfer", '{"email": "a@example.fr", "name": "A", "n": %s}'),
        ("PATCH", "", '{"po_number": %s}'),
        ("PUT", "/payment-method", '{"type": "card", "exp_month": %s}'),
    ],
)
def test_a_json_integer_beyond_pythons_digit_limit_is_400(client, stack, active, method, suffix, body):
    response = call(client, stack, method, f"/subscriptions/{active}{suffix}", body.replace("%s", HUGE_INT))

    _assert_clean_error(response, 400)
    assert "digits" in body_of(response)["Message"]


def test_a_huge_integer_before_authentication_on_the_card_route_is_401_not_500(client, stack, active):
    response = client.http.put(
        f"/subscriptions/{active}/payment-method",
        body='{"type": "card", "exp_month": ' + HUGE_INT + "}",
        headers={"Content-Type": "application/json"},
    )
    _assert_clean_error(response, 401)


def test_the_card_screen_runs_inside_the_error_mapping(client, stack, active, monkeypatch):
    """Whatever the screen meets, the answer is the API's 500 shape, never the framework's traceback."""
    from chalicelib.api import idempotency

    def broken(*_):
        raise RuntimeError("/secret/path/in/a/traceback.py")

    monkeypatch.setattr(idempotency, "contains_card_number", broken)
    response = call(client, stack, "PUT", f"/subscriptions/{active}/payment-method", {"type": "invoice"})

    _assert_clean_error(response, 500)
    assert "/secret/path" not in response.body.decode()


@pytest.mark.parametrize("limit", ["\u00b2", "\u2460", "\u0663", HUGE_INT, " 5", "+5", "5_0"])
@pytest.mark.parametrize("path", ["/subscriptions", "/me/entitlements", "/subscriptions/{id}/history"])
def test_a_limit_int_refuses_is_400(client, stack, active, limit, path):
    from urllib.parse import quote

    response = call(client, stack, "GET", f"{path.format(id=active)}?limit={quote(limit)}")

    _assert_clean_error(response, 400)
    assert "limit" in body_of(response)["Message"]


@pytest.mark.parametrize("etag", ['"\u00b2"', "\u2460", f'"{HUGE_INT}"'])
def test_an_if_match_int_refuses_is_412_and_changes_nothing(client, stack, active, etag):
    response = call(client, stack, "PATCH", f"/subscriptions/{active}", {"po_number": "PO-X"}, **{"If-Match": etag})

    _assert_clean_error(response, 412)
    assert stack.repo.get_subscription(active).po_number != "PO-X"


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59Z", "1969-12-31T00:00Z"]
)
def test_an_order_timestamp_at_the_ends_of_the_calendar_is_rejected_with_a_reason(stack, moment):
    with pytest.raises(OrderRejected) as rejected:
        jobs.receive_order(order(ordered_at=moment))

    assert any(reason.startswith("ordered_at") for reason in rejected.value.reasons), rejected.value.reasons
    with pytest.raises(ValueError, match="between"):
        parse_utc(moment)


def test_an_order_message_with_a_huge_integer_is_rejected_with_a_reason(stack):
    raw = json.dumps(order()).replace('"license_quantity": 5', f'"license_quantity": {HUGE_INT}')
    assert HUGE_INT in raw

    with pytest.raises(OrderRejected) as rejected:
        jobs.receive_order(raw)

    assert "digits" in rejected.value.reasons[0]


def test_a_valid_card_body_still_goes_through(client, stack, active):
    assert call(client, stack, "PUT", f"/subscriptions/{active}/payment-method", CARD).status_code == 200
