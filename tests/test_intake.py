"""Order intake (DESIGN section 4): strict validation, idempotency, tombstones, partial batches."""

from __future__ import annotations

import json

import pytest

from app import app
from chalicelib import jobs
from chalicelib.domain.errors import OrderRejected
from tests.support import DELETE, ORDER, order, text_part


def _count_items(stack) -> int:
    return stack.ddb.scan(TableName="portal-test", Select="COUNT")["Count"]


def test_order_creates_pending_subscription_and_one_activation_email(stack):
    result = jobs.receive_order(ORDER)

    assert result.created
    subscription = stack.subscriptions.get_subscription(result.subscription_id)
    assert subscription.status.value == "pending_activation"
    assert subscription.admin.email == "marie.dupont@example.fr"
    assert subscription.activation_deadline.isoformat() == "2027-02-24T09:30:00+00:00"
    [mail] = stack.sent()
    assert mail["To"] == "marie.dupont@example.fr"
    assert "PROFIS Engineering Suite" in mail["Subject"]
    assert "https://abonnements.example.fr/activate/" in text_part(mail)


def test_redelivered_order_changes_nothing_and_sends_no_second_email(stack):
    first = jobs.receive_order(ORDER)
    items = _count_items(stack)

    again = jobs.receive_order(json.dumps(ORDER))

    assert again.outcome == "duplicate"
    assert again.subscription_id == first.subscription_id
    assert _count_items(stack) == items
    assert len(stack.sent()) == 1


def test_redelivery_after_removal_is_recognised_by_the_tombstone(stack):
    from chalicelib.services.cleanup import Cleanup

    first = jobs.receive_order(ORDER)
    stack.clock.advance(days=91)
    summary = Cleanup(stack.container.cleanup_store, stack.clock).remove_unactivated(lambda: 900)
    assert summary.removed == 1
    stack.clock.advance(days=-91)  # a message redelivered from before the deadline (clock skew, replay)

    again = jobs.receive_order(ORDER)

    assert again.outcome == "duplicate"
    assert again.subscription_id == first.subscription_id
    assert stack.subscriptions.get_subscription(first.subscription_id) is None
    assert len(stack.sent()) == 1


def test_order_past_its_deadline_creates_nothing(stack):
    result = jobs.receive_order(order(order_id="OLD-1", ordered_at="2026-08-01T00:00:00Z"))

    assert result.outcome == "expired"
    assert _count_items(stack) == 0
    assert stack.sent() == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"country": "FRA"}, "country"),
        ({"country": "XX"}, "country"),
        ({"locale": "not a locale!"}, "locale"),
        ({"admin": {"email": "not-an-email", "name": "Marie"}}, "admin.email"),
        ({"admin": {"email": "a@b.example"}}, "admin.name"),
        ({"license_quantity": 0}, "license_quantity"),
        ({"license_quantity": 10001}, "license_quantity"),
        ({"license_quantity": "5"}, "license_quantity"),
        ({"license_quantity": True}, "license_quantity"),
        ({"term_months": 61}, "term_months"),
        ({"term_months": 0}, "term_months"),
        ({"unit_price": "-1.00"}, "unit_price"),
        ({"unit_price": "abc"}, "unit_price"),
        ({"unit_price": 450.0}, "unit_price"),
        ({"unit_price": "NaN"}, "unit_price"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "XYZ"}, "currency"),
        ({"po_number": "P" * 36}, "po_number"),
        ({"po_number": "PO\n7781"}, "po_number"),
        ({"ordered_at": "2026-11-26T09:30:00"}, "ordered_at"),
        ({"ordered_at": "yesterday"}, "ordered_at"),
        ({"order_id": ""}, "order_id"),
        ({"order_id": "a/b"}, "order_id"),
        ({"payment_method": {"type": "card", "number": "4111111111111111"}}, "payment_method"),
        ({"customer": DELETE}, "customer is required"),
        ({"product": {"code": "X"}}, "product.name"),
    ],
)
def test_invalid_order_is_rejected_with_its_reason_and_writes_nothing(stack, changes, reason):
    with pytest.raises(OrderRejected) as rejected:
        jobs.receive_order(order(**changes))

    assert reason in str(rejected.value), rejected.value.reasons
    assert _count_items(stack) == 0
    assert stack.sent() == []


def test_every_problem_is_reported_at_once(stack):
    with pytest.raises(OrderRejected) as rejected:
        jobs.receive_order(order(country="xx", currency="??", license_quantity=0))
    assert len(rejected.value.reasons) == 3


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", "", "null"])
def test_malformed_message_is_rejected(stack, raw):
    with pytest.raises(OrderRejected):
        jobs.receive_order(raw)


def test_missing_locale_falls_back_to_english(stack):
    result = jobs.receive_order(order(locale=DELETE, order_id="NOLOCALE"))
    assert stack.subscriptions.get_subscription(result.subscription_id).locale == "en"
    [mail] = stack.sent()
    assert mail["Subject"].startswith("Activate your subscription")


def test_sqs_batch_reports_only_the_bad_message_and_processes_the_good_ones(stack, client):
    bodies = [
        json.dumps(order(order_id="GOOD-1", admin={"email": "one@example.fr", "name": "One"})),
        json.dumps(order(order_id="BAD-1", country="ZZ")),
        json.dumps(order(order_id="GOOD-2", admin={"email": "two@example.fr", "name": "Two"})),
        "{broken",
    ]
    event = client.events.generate_sqs_event(message_bodies=bodies, queue_name="subscription-portal-orders")

    response = client.lambda_.invoke("intake_orders", event)

    failed = {f["itemIdentifier"] for f in response.payload["batchItemFailures"]}
    ids = [r["messageId"] for r in event["Records"]]
    assert failed == {ids[1], ids[3]}
    assert stack.container.orders.get_order("GOOD-1") is not None
    assert stack.container.orders.get_order("GOOD-2") is not None
    assert stack.container.orders.get_order("BAD-1") is None
    assert sorted(m["To"] for m in stack.sent()) == ["one@example.fr", "two@example.fr"]


def test_a_storage_failure_on_one_message_is_retried_without_blocking_the_others(stack, client, monkeypatch):
    real = stack.container.orders.create_pending

    def flaky(subscription, *args):
        if subscription.order_id == "FLAKY":
            raise RuntimeError("DynamoDB throttled")
        return real(subscription, *args)

    monkeypatch.setattr(stack.container.orders, "create_pending", flaky)
    bodies = [json.dumps(order(order_id="FLAKY")), json.dumps(order(order_id="FINE"))]
    event = client.events.generate_sqs_event(message_bodies=bodies)

    response = client.lambda_.invoke("intake_orders", event)

    assert [f["itemIdentifier"] for f in response.payload["batchItemFailures"]] == [event["Records"][0]["messageId"]]
    assert stack.container.orders.get_order("FINE") is not None
    assert stack.container.orders.get_order("FLAKY") is None
    assert _count_items(stack) == 6  # FINE's order, subscription, access, contact, token, mail: nothing of FLAKY


def test_app_handler_is_registered_for_the_orders_queue():
    assert "intake_orders" in app.handler_map
