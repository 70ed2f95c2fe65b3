"""The emailed link's pages (DESIGN 5.1, 8, 9)."""

from __future__ import annotations

import re

import pytest

from chalicelib import jobs
from chalicelib.domain.activation_links import token_hash
from tests.support import ORDER, customer, order, text_part, token_of

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _version(html: str) -> str:
    return re.search(r'name="agreement_version" value="([^"]+)"', html).group(1)


@pytest.fixture
def pending(stack):
    result = jobs.receive_order(ORDER)
    [mail] = stack.sent()
    return result.subscription_id, token_of(mail)


def _accept(client, token, version, **headers):
    return client.http.post(
        f"/activate/{token}", body=f"accept=yes&agreement_version={version}", headers={**FORM, **headers}
    )


def test_agreement_page_names_everything_and_changes_nothing(stack, client, pending):
    subscription_id, token = pending
    page = client.http.get(f"/activate/{token}")

    assert page.status_code == 200
    html = page.body.decode()
    for expected in (
        "PROFIS Engineering Suite",
        "Dupont BTP SARL",
        "4500012345",
        "marie.dupont@example.fr",
        "24/02/2027",
        "Activer l’abonnement",
        "TEXTE D",
        "FR-fr-2026.1",
    ):
        assert expected in html, expected
    assert '<form method="post">' in html  # posts back to the very URL it was opened at
    assert stack.subscriptions.get_subscription(subscription_id).status.value == "pending_activation"


def test_token_pages_send_the_security_headers(client, pending):
    _, token = pending
    for response in (client.http.get(f"/activate/{token}"), client.http.get("/activate/" + "A" * 43)):
        headers = {k.lower(): v for k, v in response.headers.items()}
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert "http" not in re.sub(r"https://(abonnements|portail)\.example\.fr", "", response.body.decode())


def test_an_oversized_post_to_a_token_page_is_413_with_the_page_security_headers(stack, client, pending):
    _, token = pending
    response = client.http.post(f"/activate/{token}", body="accept=yes&x=" + "A" * 20_000, headers=FORM)
    assert response.status_code == 413
    headers = {k.lower(): v for k, v in response.headers.items()}
    assert headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    assert len(stack.sent()) == 1  # only the activation request the fixture received: nothing was activated


def test_head_is_200_without_body_or_side_effect(stack, client, pending):
    subscription_id, token = pending
    response = client.http.request("HEAD", f"/activate/{token}")
    assert response.status_code == 200
    assert response.body in (b"", "")
    assert stack.subscriptions.get_subscription(subscription_id).status.value == "pending_activation"


def test_accepting_activates_records_evidence_and_confirms_by_email(stack, client, pending):
    subscription_id, token = pending
    version = _version(client.http.get(f"/activate/{token}").body.decode())

    done = _accept(client, token, version, **{"User-Agent": "Browser/1.0"})

    assert done.status_code == 200
    assert "Votre abonnement est activé" in done.body.decode()
    assert 'href="https://portail.example.fr"' in done.body.decode()
    subscription = stack.subscriptions.get_subscription(subscription_id)
    assert subscription.status.value == "active"
    assert subscription.next_renewal_date.isoformat() == "2027-11-26"
    evidence = subscription.evidence
    assert (evidence.accepted_by, evidence.agreement_version, evidence.channel.value) == (
        "marie.dupont@example.fr",
        "FR-fr-2026.1",
        "email_link",
    )
    assert evidence.user_agent == "Browser/1.0" and evidence.ip
    assert evidence.accepted_at == stack.clock.now()
    confirmation, invoice = stack.sent()[-2:]
    assert confirmation["Subject"] == "Votre abonnement à PROFIS Engineering Suite est activé"
    assert invoice["Subject"] == "Facture FR-2026-000001 pour PROFIS Engineering Suite"
    assert "26/11/2027" in text_part(confirmation)


def test_repeating_the_post_shows_already_activated_and_sends_nothing_more(stack, client, pending):
    _, token = pending
    version = _version(client.http.get(f"/activate/{token}").body.decode())
    _accept(client, token, version)

    again = _accept(client, token, version)
    page = client.http.get(f"/activate/{token}")

    assert again.status_code == 200 and "déjà activé" in again.body.decode()
    assert page.status_code == 200 and "déjà activé" in page.body.decode()
    assert len(stack.sent()) == 3  # activation request, confirmation, first invoice: once each


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("", "application/x-www-form-urlencoded"),
        ("agreement_version=FR-fr-2026.1", "application/x-www-form-urlencoded"),
        ("accept=no&agreement_version=FR-fr-2026.1", "application/x-www-form-urlencoded"),
        ('{"accept": "yes"}', "application/json"),
        ("accept=yes", "text/plain"),
    ],
)
def test_a_post_without_acceptance_never_activates(stack, client, pending, body, content_type):
    subscription_id, token = pending
    response = client.http.post(f"/activate/{token}", body=body, headers={"Content-Type": content_type})

    assert response.status_code == 400
    assert "cocher la case" in response.body.decode()
    assert stack.subscriptions.get_subscription(subscription_id).status.value == "pending_activation"
    assert len(stack.sent()) == 1


def test_an_outdated_agreement_version_is_refused_and_the_current_one_shown(stack, client, pending):
    subscription_id, token = pending
    response = _accept(client, token, "FR-fr-2025.1")

    assert response.status_code == 409
    assert "mis à jour" in response.body.decode()
    assert _version(response.body.decode()) == "FR-fr-2026.1"
    assert stack.subscriptions.get_subscription(subscription_id).status.value == "pending_activation"


def test_a_foreign_origin_post_is_refused(stack, client, pending):
    subscription_id, token = pending
    response = _accept(client, token, "FR-fr-2026.1", Origin="https://evil.example")

    assert response.status_code == 403
    assert stack.subscriptions.get_subscription(subscription_id).status.value == "pending_activation"


@pytest.mark.parametrize("origin", ["https://abonnements.example.fr", "null"])
def test_our_own_origin_or_the_no_referrer_null_origin_may_post(stack, client, pending, origin):
    subscription_id, token = pending
    assert _accept(client, token, "FR-fr-2026.1", Origin=origin).status_code == 200
    assert stack.subscriptions.get_subscription(subscription_id).status.value == "active"


@pytest.mark.parametrize("token", ["A" * 43, "short", "x" * 500, "%00", "..%2F..%2Fetc"])
def test_unknown_tokens_get_the_uniform_404_page(client, pending, token):
    for method in ("GET", "POST"):
        response = client.http.request(
            method, f"/activate/{token}", body="accept=yes&agreement_version=x", headers=FORM
        )
        assert response.status_code == 404
        assert "not valid" in response.body.decode()


def test_after_the_deadline_the_link_says_a_new_order_is_needed(stack, client, pending):
    subscription_id, token = pending
    stack.clock.advance(days=90)

    for method in ("GET", "POST"):
        response = client.http.request(
            method, f"/activate/{token}", body="accept=yes&agreement_version=FR-fr-2026.1", headers=FORM
        )
        assert response.status_code == 410
        assert "new order is needed" in response.body.decode()
    assert stack.subscriptions.get_subscription(subscription_id).status.value == "pending_activation"


def test_the_link_still_says_410_after_cleanup_removed_the_subscription(stack, client, pending):
    from chalicelib.services.cleanup import Cleanup

    _, token = pending
    stack.clock.advance(days=91)
    Cleanup(stack.container.cleanup_store, stack.clock).remove_unactivated(lambda: 900)
    assert client.http.get(f"/activate/{token}").status_code == 410


def test_only_the_token_hash_is_stored(stack, pending):
    _, token = pending
    dump = str(stack.ddb.scan(TableName="portal-test")["Items"])
    assert token not in dump
    assert token_hash(token) in dump


def test_customer_values_are_escaped_on_the_page(stack, client):
    jobs.receive_order(
        order(
            order_id="XSS-1",
            customer=customer(id="1", name="<script>alert(1)</script>"),
            product={"code": "P", "name": "<img src=x onerror=alert(1)>"},
        )
    )
    token = token_of(stack.sent()[-1])
    html = client.http.get(f"/activate/{token}").body.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html
