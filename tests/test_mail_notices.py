"""Issue 8, part 2: a bounced or complained-about email is counted and written on its subscription's history, so
support can see why an admin never activated. The notices are SES's own event-publishing JSON (configuration set ->
MailEventsTopic), delivered to the real handler through an SNS event; the email's tags come from the real send."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib import jobs, metrics
from tests.emf import Emitted
from tests.support import ADMIN, ORDER, Stack, activate

# SES event publishing, "Bounce" (AWS SES developer guide, examples of event data published to Amazon SNS); the
# `tags` of `mail` are replaced by what the portal sent.
SES_BOUNCE: dict[str, Any] = {
    "eventType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {
                "emailAddress": ADMIN,
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            }
        ],
        "timestamp": "2026-11-26T10:01:02.669Z",
        "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
        "reportingMTA": "dsn; mta.example.com",
    },
    "mail": {
        "timestamp": "2026-11-26T10:00:02.012Z",
        "source": "Example Software <no-reply@vendor.example>",
        "sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/vendor.example",
        "sendingAccountId": "123456789012",
        "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "destination": [ADMIN],
        "headersTruncated": False,
        "headers": [{"name": "To", "value": ADMIN}],
        "commonHeaders": {"from": ["Example Software <no-reply@vendor.example>"], "to": [ADMIN]},
        "tags": {
            "ses:configuration-set": ["portal-mail"],
            "ses:source-ip": ["192.0.2.0"],
            "ses:from-domain": ["vendor.example"],
            "ses:caller-identity": ["subscription-portal-prod-DeliverOutbox"],
        },
    },
}
SES_COMPLAINT: dict[str, Any] = {
    "eventType": "Complaint",
    "complaint": {
        "complainedRecipients": [{"emailAddress": ADMIN}],
        "timestamp": "2026-11-26T11:00:00.000Z",
        "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000001",
        "userAgent": "Mozilla/5.0",
        "complaintFeedbackType": "abuse",
        "arrivalDate": "2026-11-26T11:00:00.000Z",
    },
    "mail": copy.deepcopy(SES_BOUNCE["mail"]),
}


@pytest.fixture
def sent_tags(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, list[str]]]:
    """The tags of every email the portal hands to SES, as SES reports them back in `mail.tags`."""
    client = stack.container.mailer._client
    real = client.send_raw_email
    seen: list[dict[str, list[str]]] = []

    def spy(**kwargs: Any) -> Any:
        seen.append({tag["Name"]: [tag["Value"]] for tag in kwargs.get("Tags", [])})
        return real(**kwargs)

    monkeypatch.setattr(client, "send_raw_email", spy)
    return seen


def _notice(template: dict[str, Any], tags: dict[str, list[str]]) -> str:
    notice = copy.deepcopy(template)
    notice["mail"]["tags"].update(tags)
    return json.dumps(notice)


def _deliver(message: str) -> dict[str, Any]:
    with Client(app, stage_name="dev") as client:
        payload: dict[str, Any] = client.lambda_.invoke(
            "record_mail_event", client.events.generate_sns_event(message=message, subject="")
        ).payload
        return payload


def _history(stack: Stack, subscription_id: str) -> list[Any]:
    events, _ = stack.container.administration_store.history(subscription_id, 50, None)
    return events


def test_a_bounced_activation_email_is_on_the_history_once(
    stack: Stack, sent_tags: list[dict[str, list[str]]], emf: Emitted
) -> None:
    subscription_id = jobs.receive_order(ORDER).subscription_id
    assert subscription_id is not None
    (tags,) = sent_tags
    assert tags["subscription_id"] == [subscription_id] and tags["mail_kind"] == ["activation_request"]
    before = stack.subscriptions.get_subscription(subscription_id)
    assert before is not None

    assert _deliver(_notice(SES_BOUNCE, tags)) == {"outcome": "recorded"}
    assert _deliver(_notice(SES_BOUNCE, tags)) == {"outcome": "duplicate"}  # SNS delivers at least once

    bounced = [e for e in _history(stack, subscription_id) if e.action == "email.bounced"]
    assert len(bounced) == 1
    details = bounced[0].details
    assert details["bounce_type"] == "Permanent" and details["recipients"] == [ADMIN]
    assert details["email"] == "activation_request" and "550 5.1.1" in details["diagnostic"]
    assert details["mail_id"] == tags["mail_id"][0]
    assert emf.total(metrics.EMAILS_BOUNCED) == 2  # each notice SES sent counts, as SES's own rate does
    after = stack.subscriptions.get_subscription(subscription_id)
    assert after is not None and after.version == before.version + 1 and after.status == before.status

    activate(stack, subscription_id)  # the admin can still activate (e.g. after support corrected the address)
    actions = [e.action for e in _history(stack, subscription_id)]
    assert actions[:2] == ["subscription.activated", "email.bounced"]


def test_a_complaint_is_recorded_on_an_active_subscription_and_visible_to_its_admin(
    stack: Stack, sent_tags: list[dict[str, list[str]]], active: str, emf: Emitted, client: Client
) -> None:
    seat_email = sent_tags[-1]  # the seat assignment's email to the seat holder
    tags = {**seat_email, "subscription_id": [active]}
    assert tags["mail_kind"] == ["seat_assigned"]
    assert _deliver(_notice(SES_COMPLAINT, tags)) == {"outcome": "recorded"}
    response = client.http.get(f"/subscriptions/{active}/history", headers=stack.issuer.bearer(ADMIN, "FR"))
    assert response.status_code == 200, response.body
    (complained,) = [e for e in json.loads(response.body)["items"] if e["action"] == "email.complained"]
    assert complained["actor"] == "mail-provider" and complained["details"]["feedback_type"] == "abuse"
    assert complained["details"]["email"] == "seat_assigned"
    assert emf.total(metrics.EMAIL_COMPLAINTS) == 1


def test_notices_that_cannot_be_placed_change_nothing(stack: Stack, sent_tags: list[dict[str, list[str]]]) -> None:
    subscription_id = jobs.receive_order(ORDER).subscription_id
    assert subscription_id is not None
    (tags,) = sent_tags
    untagged = copy.deepcopy(SES_BOUNCE)  # an email someone sent through the configuration set by hand
    assert _deliver(json.dumps(untagged)) == {"outcome": "untagged"}
    delivery = {**SES_BOUNCE, "eventType": "Delivery"}
    assert _deliver(json.dumps(delivery)) == {"outcome": "ignored"}
    assert _deliver("not json") == {"outcome": "ignored"}
    assert [e.action for e in _history(stack, subscription_id)] == []

    stack.clock.advance(days=91)
    jobs.run_cleanup()
    assert _deliver(_notice(SES_BOUNCE, tags)) == {"outcome": "gone"}  # removed at its deadline: nothing to write on


def test_a_notice_racing_a_change_is_written_after_it(
    stack: Stack, sent_tags: list[dict[str, list[str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history slot is the subscription's next version: a change committed between the read and the write moves
    the notice to the version after it, nothing is overwritten."""
    subscription_id = jobs.receive_order(ORDER).subscription_id
    assert subscription_id is not None
    (tags,) = sent_tags
    store = stack.container.mail_notice_store
    real = store.record_notice
    raced = []

    def activation_first(before: Any, *args: Any) -> bool:
        if not raced:
            raced.append(True)
            activate(stack, subscription_id)
        return real(before, *args)

    monkeypatch.setattr(store, "record_notice", activation_first)
    assert _deliver(_notice(SES_BOUNCE, tags)) == {"outcome": "recorded"}
    assert [e.action for e in _history(stack, subscription_id)][:2] == ["email.bounced", "subscription.activated"]
