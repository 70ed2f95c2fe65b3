"""Regression tests for runtime defects found in review (CORS, malformed work, cursors, headers, devstack)."""

from __future__ import annotations

import json

PORTAL = "https://portal.example.com"


def _exposed(response) -> set[str]:
    value = response.headers.get("Access-Control-Expose-Headers", "")
    return {name.strip().lower() for name in value.split(",") if name.strip()}


def test_actual_portal_answers_expose_etag_to_the_portal_origin(client, stack, pending):
    """Browsers read Expose-Headers from the actual answer, not the preflight: else the portal cannot read ETag."""
    response = client.http.get(
        f"/subscriptions/{pending}", headers={**stack.issuer.bearer("marie.dupont@example.fr", "FR"), "Origin": PORTAL}
    )
    assert response.status_code == 200 and response.headers["ETag"]
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL
    assert {"etag", "idempotent-replayed", "content-disposition"} <= _exposed(response)


def test_error_answers_expose_headers_too(client):
    response = client.http.get("/subscriptions", headers={"Origin": PORTAL})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "etag" in _exposed(response)
    assert json.loads(response.body)["Code"] == "UnauthorizedError"


def _sqs_event(bodies: dict[str, str]) -> dict:
    from devstack.queues import lambda_event

    messages = [{"MessageId": mid, "ReceiptHandle": f"rh-{mid}", "Body": body} for mid, body in bodies.items()]
    return lambda_event(messages, "arn:aws:sqs:eu-west-1:123456789012:work", "eu-west-1")


DEEP = "[" * 5000 + "]" * 5000


def test_a_malformed_work_message_fails_alone_and_the_rest_of_its_batch_is_done(stack):
    from app import job_worker

    good = json.dumps({"job": "send_reminders", "items": []})
    bad = {
        "job-list": json.dumps({"job": ["x"], "items": []}),
        "job-object": json.dumps({"job": {"a": "b"}, "items": []}),
        "deep": json.dumps({"job": "send_reminders", "items": []})[:-1] + ', "x": ' + DEEP + "}",
        "deep-bare": DEEP,
        "not-object": json.dumps(["job", "items"]),
    }
    response = job_worker(_sqs_event({"good-1": good, **bad, "good-2": good}), None)
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == set(bad)


def test_a_deeply_nested_order_message_is_rejected_alone(stack):
    from app import intake_orders
    from tests.support import ORDER

    good = ORDER if isinstance(ORDER, str) else json.dumps(ORDER)
    deep = good[:-1] + ', "x": ' + DEEP + "}"
    response = intake_orders(_sqs_event({"good": good, "deep": deep, "deep-bare": DEEP}), None)
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {"deep", "deep-bare"}


def test_a_deeply_nested_cursor_is_a_400_with_a_clear_message(client, stack, pending):
    import base64

    for raw in (DEEP.encode(), b'{"sk": ' + DEEP.encode() + b"}", b"\xff\xfe garbage", b'"just a string"'):
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        response = client.http.get(
            f"/subscriptions?cursor={cursor}", headers=stack.issuer.bearer("marie.dupont@example.fr", "FR")
        )
        assert response.status_code == 400, raw[:20]
        assert "cursor" in json.loads(response.body)["Message"].lower()


def test_a_mime_encoded_word_in_a_customer_value_is_shown_as_typed_not_decoded_in_the_subject(stack):
    from email import message_from_bytes, policy

    from moto.ses.models import ses_backends

    from chalicelib import jobs
    from tests.support import ACCOUNT, REGION, order

    hidden = "=?utf-8?q?=E2=80=AEgnp=2Eexe?="  # decodes to a right-to-left override intake refuses when sent plainly
    jobs.receive_order(order(product={"code": "PROFIS-ENG", "name": f"Suite {hidden}"}))
    [raw] = [m.raw_data for m in ses_backends[ACCOUNT][REGION].sent_messages]
    subject = message_from_bytes(raw.encode() if isinstance(raw, str) else raw, policy=policy.default)["Subject"]
    assert "\u202e" not in subject
    assert "utf-8?q?=E2=80=AEgnp=2Eexe?=" in subject  # what the customer typed, still readable
