"""Regression tests for the contract defects a hostile tester found (issue 9): each is a bad input or a race that
once answered 500, stored a card number, leaked across countries or disordered the history."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from chalicelib import jobs
from chalicelib.domain.errors import OrderRejected
from chalicelib.domain.models import parse_utc
from devstack.moto_lock import serialize_dynamodb
from tests import test_races as races
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
def test_a_json_integer_beyond_pythons_digit_limit_is_400(client, stack, request, method, suffix, body):
    # activation is possible on a pending subscription only (capabilities: 409 before the body is read otherwise)
    subscription = request.getfixturevalue("pending" if suffix == "/activation" else "active")
    response = call(client, stack, method, f"/subscriptions/{subscription}{suffix}", body.replace("%s", HUGE_INT))

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
    from chalicelib.domain import payment  # the payment route's body screen reads it at call time

    def broken(*_):
        raise RuntimeError("/secret/path/in/a/traceback.py")

    monkeypatch.setattr(payment, "contains_card_number", broken)
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
    assert stack.subscriptions.get_subscription(active).po_number != "PO-X"


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


# -- defect 3: a card number could be stored -------------------------------------------------------------------------
CARD_NUMBER = "4539578763621486"  # passes Luhn


@pytest.mark.parametrize(
    "token",
    [
        "tok--4539--5787--6362--1486",
        "tok__4539__5787__6362__1486",
        "45 39 57 87 63 62 14 86",
        "tok-45-39-57-87-63-62-14-86",
        "4539a5787b6362c1486",
        "tok:4.5.3.9.5.7.8.7.6.3.6.2.1.4.8.6",
        "\uff14\uff15\uff13\uff19" + "5787" + "6362" + "1486",  # full-width digits
    ],
)
def test_a_card_number_split_by_any_separator_is_refused_and_never_stored(client, stack, active, token, caplog):
    response = call(client, stack, "PUT", f"/subscriptions/{active}/payment-method", {**CARD, "token": token})

    _assert_clean_error(response, 400)
    assert "card number" in body_of(response)["Message"]
    stored = json.dumps(stack.ddb.scan(TableName="portal-test")["Items"])
    # Not the last eight digits in a row, whatever separates them (a lone "1486" may be part of a random id).
    card = re.compile(r"\D{0,3}".join("63621486"))
    assert token not in stored and not card.search(stored)
    assert not card.search(caplog.text)
    assert stack.subscriptions.get_subscription(active).payment_method.type == "invoice"


def test_a_card_number_in_a_body_that_is_not_json_is_refused_as_a_card_number(client, stack, active):
    raw = '{"type": "card", "token": "tok--4539--5787--6362--1486"'  # no closing brace
    response = call(client, stack, "PUT", f"/subscriptions/{active}/payment-method", raw)

    _assert_clean_error(response, 400)
    assert "card number" in body_of(response)["Message"]


@pytest.mark.parametrize(
    "token", ["pm_1N3yXa2eZvKYlo2C4f6x", "src_wmlfc3zyhqzehihu7giusaaawu", "tok_2026-11-26T09:30:00Z", "btok_4539_5787"]
)
def test_tokens_without_thirteen_luhn_digits_are_accepted(client, stack, active, token):
    """The body's other digits (last4 4242, expiry 12/2030) never join the token's into a false match."""
    response = call(client, stack, "PUT", f"/subscriptions/{active}/payment-method", {**CARD, "token": token})
    assert response.status_code == 200, response.body



# -- defect 4: an idempotent replay crossed the country scope --------------------------------------------------------
def test_a_replay_is_scoped_by_email_and_country(client, stack, active):
    key = {"Idempotency-Key": "scope-1"}
    first = call(client, stack, "POST", f"/subscriptions/{active}/cancellation", **key)
    assert first.status_code == 200

    from_germany = call(client, stack, "POST", f"/subscriptions/{active}/cancellation", country="DE", **key)

    _assert_clean_error(from_germany, 404)
    assert "Idempotent-Replayed" not in from_germany.headers
    assert "admin" not in from_germany.body.decode()
    again = call(client, stack, "POST", f"/subscriptions/{active}/cancellation", **key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"


def test_a_replay_for_a_caller_who_lost_sight_of_the_subscription_is_404(client, stack, active):
    key = {"Idempotency-Key": "po-1"}
    assert call(client, stack, "PATCH", f"/subscriptions/{active}", {"po_number": "PO-1"}, **key).status_code == 200
    handover = {"email": "next.admin@example.fr", "name": "Next Admin"}
    assert call(client, stack, "POST", f"/subscriptions/{active}/admin-transfer", handover).status_code == 200

    replay = call(client, stack, "PATCH", f"/subscriptions/{active}", {"po_number": "PO-1"}, **key)

    _assert_clean_error(replay, 404)  # the former admin holds no seat: a fresh request would be 404 too
    assert "Idempotent-Replayed" not in replay.headers and "PO-1" not in replay.body.decode()


# -- defect 5: history out of order under a storm --------------------------------------------------------------------
gateway = races.gateway  # the real handler with a per-thread current request (the fixture of tests/test_races.py)


@pytest.mark.parametrize("storm", range(3))
def test_a_storm_of_cancellations_and_withdrawals_leaves_an_alternating_history(stack, gateway, storm):
    serialize_dynamodb()
    subscription_id = races._active_subscription(stack)
    headers = races._json_headers(stack)
    path = f"/subscriptions/{subscription_id}/cancellation"
    requests = [("POST" if n % 2 == 0 else "DELETE", path, headers, b"") for n in range(40)]

    results = races._parallel(gateway, requests)

    assert {status for status, _ in results} <= {200, 409}, results
    events, _ = stack.container.administration_store.history(subscription_id, 200, None)
    actions = [e.action for e in reversed(events) if e.action.startswith("cancellation.")]
    assert actions, "no change went through"
    assert actions[0] == "cancellation.scheduled"
    assert all(earlier != later for earlier, later in itertools.pairwise(actions)), actions
    final = stack.subscriptions.get_subscription(subscription_id)
    assert final.cancel_at_renewal is (actions[-1] == "cancellation.scheduled")
    assert final.version == 2 + len(actions)  # activation took it to 2; each change is one version and one event


# -- defect 7: one limit, one error shape, the bearer scheme in any case ---------------------------------------------
TOO_BIG = "x" * (16 * 1024 + 1)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("POST", "/cancellation"),
        ("DELETE", "/cancellation"),
        ("DELETE", "/users/sam.seat%40example.fr"),
        ("POST", "/activation-email"),
        ("GET", ""),
        ("GET", "/history"),
    ],
)
def test_the_body_limit_holds_on_routes_that_read_no_body(client, stack, active, method, suffix):
    before = stack.subscriptions.get_subscription(active)

    response = call(client, stack, method, f"/subscriptions/{active}{suffix}", TOO_BIG)

    _assert_clean_error(response, 413)
    assert response.headers["Access-Control-Allow-Origin"] == "https://portal.example.com"
    assert stack.subscriptions.get_subscription(active) == before


def test_the_frameworks_405_has_the_api_shape_and_headers(client, stack):
    response = client.http.request("PUT", "/subscriptions", headers=stack.issuer.bearer("a@example.fr", "FR"))

    _assert_clean_error(response, 405)
    assert response.headers["Access-Control-Allow-Origin"] == "https://portal.example.com"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_frameworks_415_has_the_api_shape_and_headers(client, stack, active):
    response = call(client, stack, "POST", f"/subscriptions/{active}/cancellation", **{"Content-Type": "text/plain"})

    _assert_clean_error(response, 415)
    assert response.headers["Access-Control-Allow-Origin"] == "https://portal.example.com"
    assert stack.subscriptions.get_subscription(active).cancel_at_renewal is False


@pytest.mark.parametrize("authorization", [None, "Bearer x", "AWS4-HMAC-SHA256 Credential=x"])
def test_an_unknown_route_on_the_local_stack_is_the_api_404(stack, authorization):
    """chalice local answers unknown routes itself (403 {"message"}); the local stack answers as the deployed API
    Gateway does with the stack's GatewayResponses (tests/test_infra.py)."""
    from chalice.config import Config

    from app import app
    from devstack.gateway import api_gateway_class

    gateway = api_gateway_class()(app, Config(chalice_stage="dev", user_provided_params={}, config_from_disk={}))
    headers = {"authorization": authorization} if authorization else {}

    response = gateway.handle_request("GET", "/no/such/route", headers, b"")

    assert response["statusCode"] == 404
    assert set(json.loads(response["body"])) == {"Code", "Message"}
    assert response["headers"]["Cache-Control"] == "no-store"
    assert response["headers"]["Access-Control-Allow-Origin"] == "https://portal.example.com"


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_case_insensitive(client, stack, active, scheme):
    token = stack.issuer.token("marie.dupont@example.fr", "FR")

    response = client.http.get(f"/subscriptions/{active}", headers={"Authorization": f"{scheme} {token}"})

    assert response.status_code == 200, response.body


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer ", "Basic abc", "Bearertoken"])
def test_other_schemes_and_empty_tokens_stay_401(client, stack, active, authorization):
    response = client.http.get(f"/subscriptions/{active}", headers={"Authorization": authorization})
    _assert_clean_error(response, 401)


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/activate/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde?utm=x", "/activate/\u2026"),
        ("/subscriptions?limit=5&cursor=eyJzayI6IkVWRU5UIyJ9", "/subscriptions"),
    ],
)
def test_the_local_stacks_access_log_holds_no_token_or_query_string(path, logged):
    from devstack.gateway import loggable_path

    assert loggable_path(path) == logged
