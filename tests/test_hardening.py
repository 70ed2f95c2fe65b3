"""Attacks and edge cases found in review: each must fail safely, with a clear 4xx, and change nothing."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from chalicelib import jobs
from chalicelib.domain.errors import OrderRejected
from tests.support import ADMIN, SEAT, activate, customer, order, token_of
from tests.test_administration import CARD, body_of, call


def _second_active(stack, client) -> str:
    other = jobs.receive_order(order(order_id="SECOND")).subscription_id
    activate(stack, other)
    return other


def test_an_idempotency_key_reused_on_another_subscription_is_refused_not_replayed(client, stack, active):
    other = _second_active(stack, client)
    key = {"Idempotency-Key": "k-1"}
    assert call(client, stack, "POST", f"/subscriptions/{active}/cancellation", **key).status_code == 200

    response = call(client, stack, "POST", f"/subscriptions/{other}/cancellation", **key)

    assert response.status_code == 422 and "different request" in body_of(response)["Message"]
    assert stack.subscriptions.get_subscription(other).cancel_at_renewal is False


def test_a_retry_while_the_first_request_with_its_key_still_runs_is_409_and_changes_nothing(client, stack, active):
    """draft-ietf-httpapi-idempotency-key-header: a request whose first attempt is still being processed is a 409.
    The first attempt is caught mid-flight by putting its record back to in progress (as a slow request leaves it)."""
    body = {"email": "u9@example.fr", "name": "U"}
    key = {"Idempotency-Key": "k-inflight"}
    assert call(client, stack, "POST", f"/subscriptions/{active}/users", body, **key).status_code == 201
    [record] = [
        item for item in stack.ddb.scan(TableName="portal-test")["Items"] if "lease_until" in item
    ]
    stack.ddb.update_item(
        TableName="portal-test",
        Key={"PK": record["PK"], "SK": record["SK"]},
        UpdateExpression="SET #st = :progress",
        ExpressionAttributeNames={"#st": "status"},
        ExpressionAttributeValues={":progress": {"S": "in_progress"}},
    )
    seats_before = stack.subscriptions.get_subscription(active).seats_used

    response = call(client, stack, "POST", f"/subscriptions/{active}/users", body, **key)

    assert response.status_code == 409 and "still running" in body_of(response)["Message"]
    assert stack.subscriptions.get_subscription(active).seats_used == seats_before


def test_an_idempotency_key_reused_on_another_seat_is_refused(client, stack, active):
    call(client, stack, "POST", f"/subscriptions/{active}/users", {"email": "u2@example.fr", "name": "U"})
    key = {"Idempotency-Key": "k-2"}
    assert call(client, stack, "DELETE", f"/subscriptions/{active}/users/{quote(SEAT)}", **key).status_code == 204
    response = call(client, stack, "DELETE", f"/subscriptions/{active}/users/u2%40example.fr", **key)
    assert response.status_code == 422
    assert stack.container.administration_store.get_seat(active, "u2@example.fr") is not None


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "card", "token": "411111111111111\\u0031", "brand": "visa", "last4": "1111", "exp_month": 1, '
        '"exp_year": 2030}',
        '{"type": "card", "token": "4111.1111.1111.1111", "brand": "visa", "last4": "1111", "exp_month": 1, '
        '"exp_year": 2030}',
        '{"type": "card", "token": "pm_x", "brand": "visa", "last4": "1111", "exp_month": 1, "exp_year": 2030, '
        '"n": 4111111111111111}',
        '{"type": "invoice", "memo": "4111_1111_1111_1111"}',
        '{"type": "card", "token": "tok:4111111111111111", "brand": "visa", "last4": "1111", "exp_month": 1, '
        '"exp_year": 2030}',
    ],
)
def test_disguised_card_numbers_are_refused_and_never_stored(client, stack, active, raw):
    response = call(client, stack, "PUT", f"/subscriptions/{active}/payment-method", raw)
    assert response.status_code == 400 and "card number" in body_of(response)["Message"]
    assert "4111" not in json.dumps(stack.ddb.scan(TableName="portal-test")["Items"])


def test_a_token_of_digits_only_is_not_a_provider_token(client, stack, active):
    body = {**CARD, "token": "1234-5678"}
    assert call(client, stack, "PUT", f"/subscriptions/{active}/payment-method", body).status_code == 400


def test_a_failure_to_record_the_sent_email_does_not_turn_the_activation_into_an_error(
    client, stack, pending, monkeypatch
):
    token = token_of(stack.sent()[0])

    def broken(*args, **kwargs):
        raise RuntimeError("DynamoDB throttled")

    monkeypatch.setattr(stack.container.outbox, "mark_sent", broken)
    response = client.http.post(
        f"/activate/{token}",
        body="accept=yes&agreement_version=FR-fr-2026.1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 200 and "activé" in response.body.decode()
    assert stack.subscriptions.get_subscription(pending).status.value == "active"


def test_the_link_still_says_already_activated_long_after_the_deadline(client, stack, pending):
    token = token_of(stack.sent()[0])
    activate(stack, pending)
    stack.clock.advance(days=200)

    page = client.http.get(f"/activate/{token}")
    again = client.http.post(
        f"/activate/{token}",
        body="accept=yes&agreement_version=FR-fr-2026.1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert page.status_code == 200 and "déjà activé" in page.body.decode()
    assert again.status_code == 200 and "déjà activé" in again.body.decode()


@pytest.mark.parametrize("value", ["PO-\ud800", "PO-\u202eevil", "PO\u200b1", "PO\u20281"])
def test_invisible_or_broken_characters_are_refused_in_po_numbers(client, stack, active, value):
    response = call(client, stack, "PATCH", f"/subscriptions/{active}", json.dumps({"po_number": value}))
    assert response.status_code == 400
    assert stack.subscriptions.get_subscription(active).po_number == "PO-7781"


@pytest.mark.parametrize(
    "email",
    ["\ud800x@example.fr", "a,b@example.fr", "jé@example.fr", '"x"@example.fr', "a b@example.fr", "<a>@example.fr"],
)
def test_addresses_ses_cannot_deliver_or_that_split_headers_are_refused(client, stack, active, email):
    response = call(client, stack, "POST", f"/subscriptions/{active}/users", json.dumps({"email": email, "name": "X"}))
    assert response.status_code == 400
    assert stack.subscriptions.get_subscription(active).seats_used == 1


@pytest.mark.parametrize("name", ["Evil\u202eCorp", "Zero\u200bWidth", "Line\u2028Break", "Lone\ud800"])
def test_orders_with_hidden_characters_are_rejected_with_a_reason(stack, name):
    with pytest.raises(OrderRejected) as rejected:
        jobs.receive_order(order(customer=customer(id="1", name=name)))
    assert "customer.name" in str(rejected.value)


def test_an_order_dated_in_the_future_is_rejected(stack):
    with pytest.raises(OrderRejected) as rejected:
        jobs.receive_order(order(ordered_at="2027-06-01T00:00:00Z"))
    assert "future" in str(rejected.value)


@pytest.mark.parametrize(
    ("who", "country", "status"), [(SEAT, "FR", 403), ("stranger@example.fr", "FR", 404), (ADMIN, "DE", 404)]
)
@pytest.mark.parametrize(
    ("method", "suffix"),
    [("POST", "/users"), ("POST", "/admin-transfer"), ("PATCH", ""), ("PUT", "/payment-method")],
)
def test_role_is_checked_before_the_body(client, stack, active, who, country, status, method, suffix):
    response = call(client, stack, method, f"/subscriptions/{active}{suffix}", "{not json", email=who, country=country)
    assert response.status_code == status


def test_a_scanner_post_with_an_odd_content_type_gets_the_page_and_its_headers(client, stack, pending):
    token = token_of(stack.sent()[0])
    response = client.http.post(
        f"/activate/{token}", body=b"\x00\x01", headers={"Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 400
    assert response.headers["Referrer-Policy"] == "no-referrer" and response.headers["Cache-Control"] == "no-store"
    assert stack.subscriptions.get_subscription(pending).status.value == "pending_activation"


def test_a_pending_subscription_shows_the_agreement_version_to_accept_now(client, stack, pending):
    stack.ddb.update_item(
        TableName="portal-test",
        Key={"PK": {"S": f"SUB#{pending}"}, "SK": {"S": "SUB"}},
        UpdateExpression="SET agreement_version = :v",
        ExpressionAttributeValues={":v": {"S": "FR-fr-2025.1"}},
    )
    detail = body_of(call(client, stack, "GET", f"/subscriptions/{pending}"))
    assert detail["agreement"]["version"] == "FR-fr-2026.1"
    accepted = call(
        client,
        stack,
        "POST",
        f"/subscriptions/{pending}/activation",
        {"accept_agreement": True, "agreement_version": detail["agreement"]["version"]},
    )
    assert accepted.status_code == 200


@pytest.mark.parametrize(
    ("origin", "status"), [("https://evil.example", 403), ("https://portal.example.com", 200), (None, 200)]
)
def test_api_mutations_refuse_a_foreign_origin(client, stack, active, origin, status):
    headers = {"Origin": origin} if origin else {}
    response = call(client, stack, "POST", f"/subscriptions/{active}/cancellation", **headers)
    assert response.status_code == status
    assert stack.subscriptions.get_subscription(active).cancel_at_renewal is (status == 200)


def test_a_removed_seat_holder_loses_the_subscription_from_list_and_entitlements_at_once(
    client, stack, active, monkeypatch
):
    from chalicelib.domain.access import AccessEntry
    from chalicelib.domain.access import AccessPage as Page

    stale = Page(entries=[AccessEntry(active, "FR", None, frozenset({"seat"}))], next_cursor=None)
    call(client, stack, "DELETE", f"/subscriptions/{active}/users/{quote(SEAT)}")
    # the person index has not caught up yet
    monkeypatch.setattr(stack.container.subscriptions, "list_access", lambda *args: stale)

    assert body_of(call(client, stack, "GET", "/subscriptions", email=SEAT))["items"] == []
    assert body_of(call(client, stack, "GET", "/me/entitlements", email=SEAT))["items"] == []


# -- second review -----------------------------------------------------------------------------------------------
CARD_BODY = {
    "type": "card",
    "token": "tok4111111111111111",
    "brand": "visa",
    "last4": "1111",
    "exp_month": 1,
    "exp_year": 2030,
}


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps(CARD_BODY).encode("utf-16-le"),
        json.dumps(CARD_BODY).encode("utf-32"),
        b"\xef\xbb\xbf"
        + json.dumps({**CARD_BODY, "token": "tok"}).encode()[:-1]
        + b', "memo": "\\u0034\\u0031\\u0031\\u0031111111111111"}',
    ],
)
def test_card_numbers_cannot_hide_in_another_encoding(client, stack, active, raw):
    response = client.http.put(
        f"/subscriptions/{active}/payment-method",
        body=raw,
        headers={**stack.issuer.bearer(ADMIN, "FR"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "4111" not in json.dumps(stack.ddb.scan(TableName="portal-test")["Items"])
    assert stack.subscriptions.get_subscription(active).payment_method.type == "invoice"


def test_a_huge_body_is_refused_by_size_before_any_scan(client, stack, active):
    response = client.http.put(
        f"/subscriptions/{active}/payment-method",
        body=json.dumps({"memo": "1" * 300_000}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_a_refused_card_body_leaves_no_idempotency_record(client, stack, active):
    response = call(
        client,
        stack,
        "PUT",
        f"/subscriptions/{active}/payment-method",
        {**CARD_BODY, "token": "4111111111111111"},
        **{"Idempotency-Key": "card-1"},
    )
    assert response.status_code == 400
    items = stack.ddb.scan(
        TableName="portal-test",
        FilterExpression="begins_with(PK, :p)",
        ExpressionAttributeValues={":p": {"S": "IDEMPOTENCY#"}},
    )["Items"]
    assert items == []


@pytest.mark.parametrize(
    ("token", "status"),
    [
        ("4111x1111x1111x1111", 400),
        ("src_2024-11-26_093001", 200),  # 20241126093000 would pass Luhn: refused (issue 9)
        ("evt.2026.11.26.123456789", 200),
        ("pm_1N3yXa2eZvKYlo2C4f6x", 200),
    ],
)
def test_tokens_are_told_apart_from_disguised_card_numbers(client, stack, active, token, status):
    response = call(client, stack, "PUT", f"/subscriptions/{active}/payment-method", {**CARD, "token": token})
    assert response.status_code == status, response.body


@pytest.mark.parametrize(("method", "path_suffix"), [("PATCH", ""), ("PUT", "/payment-method"), ("POST", "/users")])
def test_deeply_nested_bodies_are_400_not_500(client, stack, active, method, path_suffix):
    response = call(client, stack, method, f"/subscriptions/{active}{path_suffix}", "[" * 5000 + "]" * 5000)
    assert response.status_code == 400


def test_no_break_spaces_in_names_are_fine_and_invisible_fillers_are_not(client, stack, active):
    ok = call(
        client, stack, "POST", f"/subscriptions/{active}/users", {"email": "n@example.fr", "name": "Jean\u00a0Dupont"}
    )
    assert ok.status_code == 201 and body_of(ok)["name"] == "Jean Dupont"
    for name in ("\u3164", "A\u034fB", "Z\u0301\u0301\u0301\u0301\u0301"):
        response = call(
            client, stack, "POST", f"/subscriptions/{active}/users", {"email": "m@example.fr", "name": name}
        )
        assert response.status_code == 400, name


def test_a_link_replaced_by_a_transfer_stays_404_after_the_deadline(client, stack, pending):
    token = token_of(stack.sent()[0])
    activate(stack, pending)
    call(client, stack, "POST", f"/subscriptions/{pending}/admin-transfer", {"email": "next@example.fr", "name": "N"})
    stack.clock.advance(days=120)
    assert client.http.get(f"/activate/{token}").status_code == 404
