"""Portal JSON API: authentication, the visibility rule, listing, detail, activation and resend (DESIGN 3, 5.2)."""

from __future__ import annotations

import json
import time

import jwt
import pytest

from chalicelib import jobs
from tests.support import AUDIENCE, ISSUER, TokenIssuer, order, token_of

ADMIN = "marie.dupont@example.fr"


def _get(client, stack, path, email=ADMIN, country="FR", **claims):
    return client.http.get(path, headers=stack.issuer.bearer(email, country, **claims))


def _post(client, stack, path, body, email=ADMIN, country="FR", **headers):
    return client.http.post(
        path,
        body=body if isinstance(body, str) else json.dumps(body),
        headers={**stack.issuer.bearer(email, country), "Content-Type": "application/json", **headers},
    )


def _body(response):
    return json.loads(response.body)


def test_health_needs_no_token(client):
    response = client.http.get("/health")
    assert response.status_code == 200 and _body(response) == {"status": "ok"}


@pytest.mark.parametrize("path", ["/subscriptions", "/subscriptions/00000000-0000-0000-0000-000000000000"])
def test_no_token_is_401_with_an_actionable_message(client, stack, path):
    response = client.http.get(path)
    assert response.status_code == 401
    assert _body(response)["Code"] == "UnauthorizedError" and "Bearer" in _body(response)["Message"]


def _hs256_signed_with_public_key(stack, claims):
    """The algorithm-confusion attack: an HMAC token whose secret is the IdP's (public) RSA key."""
    import base64
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    public_pem = stack.issuer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": stack.issuer.kid}).encode())
        + "."
        + b64(json.dumps(claims).encode())
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


def _forged_tokens(stack):
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "email": ADMIN, "custom:country": "FR", "iat": now, "exp": now + 600}
    other_key = TokenIssuer(kid=stack.issuer.kid)  # same kid, different key
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    return {
        "other key": other_key.token(ADMIN, "FR"),
        "alg none": unsigned,
        "hs256 with public key as secret": _hs256_signed_with_public_key(stack, claims),
        "expired": stack.issuer.token(ADMIN, "FR", exp=now - 120, iat=now - 4000),
        "wrong issuer": stack.issuer.token(ADMIN, "FR", iss="https://evil.example"),
        "wrong audience": stack.issuer.token(ADMIN, "FR", aud="someone-else"),
        "no email": stack.issuer.token(None, "FR"),
        "no country": stack.issuer.token(ADMIN, None),
        "garbage": "not.a.jwt",
        "unknown kid": TokenIssuer(kid="other").token(ADMIN, "FR"),
    }


def test_forged_or_expired_tokens_are_refused(client, stack, pending):
    for name, token in _forged_tokens(stack).items():
        response = client.http.get(f"/subscriptions/{pending}", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name


def test_admin_sees_the_subscription_with_etag_and_no_store(client, stack, pending):
    response = _get(client, stack, f"/subscriptions/{pending}", email="Marie.Dupont@EXAMPLE.fr")

    assert response.status_code == 200
    body = _body(response)
    assert body["role"] == "admin" and body["status"] == "pending_activation"
    assert body["payment_method"] == {"type": "invoice"}
    assert body["agreement"] == {"version": "FR-fr-2026.1", "accepted_at": None, "accepted_by": None}
    assert body["activation_deadline"] == "2027-02-24T09:30:00.000Z"
    assert response.headers["ETag"] == f'"{body["version"]}"'
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Access-Control-Allow-Origin"] == "https://portal.example.com"


@pytest.mark.parametrize(
    ("email", "country"),
    [(ADMIN, "DE"), ("someone.else@example.fr", "FR"), ("someone.else@example.fr", "DE")],
)
def test_other_country_or_other_person_gets_404(client, stack, pending, email, country):
    for path in (f"/subscriptions/{pending}",):
        response = _get(client, stack, path, email=email, country=country)
        assert response.status_code == 404
    assert _body(_get(client, stack, "/subscriptions", email=email, country=country))["items"] == []
    assert (
        _post(
            client,
            stack,
            f"/subscriptions/{pending}/activation",
            {"accept_agreement": True, "agreement_version": "FR-fr-2026.1"},
            email=email,
            country=country,
        ).status_code
        == 404
    )


def test_unknown_or_malformed_id_is_404(client, stack):
    for subscription_id in ("00000000-0000-0000-0000-000000000000", "nope", "x" * 2000):
        assert _get(client, stack, f"/subscriptions/{subscription_id}").status_code == 404


def test_pending_past_deadline_is_invisible_at_once(client, stack, pending):
    stack.clock.advance(days=90)
    assert _get(client, stack, f"/subscriptions/{pending}").status_code == 404
    listing = _body(_get(client, stack, "/subscriptions"))
    assert listing["items"] == [] and listing["hints"]["other_countries"] == []


def test_list_hints_the_countries_where_the_email_has_subscriptions(client, stack, pending):
    jobs.receive_order(order(order_id="CH-1", country="CH", locale="de-CH"))
    listing = _body(_get(client, stack, "/subscriptions", country="DE"))
    assert listing["items"] == []
    assert listing["hints"] == {"other_countries": ["CH", "FR"]}
    assert _body(_get(client, stack, "/subscriptions"))["hints"] == {"other_countries": []}


def test_list_is_paginated_newest_first_and_cursor_cannot_be_forged(client, stack):
    ids = []
    for day in range(1, 6):
        ids.append(
            jobs.receive_order(order(order_id=f"P-{day}", ordered_at=f"2026-11-0{day}T08:00:00Z")).subscription_id
        )
    seen, cursor = [], None
    while True:
        response = _get(client, stack, "/subscriptions?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        page = _body(response)
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    for bad in ("garbage", "eyJzayI6IkRFIyJ9", "e30"):
        response = _get(client, stack, f"/subscriptions?cursor={bad}")
        assert response.status_code == 400 and "cursor" in _body(response)["Message"]


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1"])
def test_bad_limit_is_400(client, stack, limit):
    assert _get(client, stack, f"/subscriptions?limit={limit}").status_code == 400


def test_portal_activation_by_the_admin(client, stack, pending):
    response = _post(
        client,
        stack,
        f"/subscriptions/{pending}/activation",
        {"accept_agreement": True, "agreement_version": "FR-fr-2026.1"},
        **{"User-Agent": "PortalSPA/2"},
    )

    assert response.status_code == 200
    body = _body(response)
    assert body["status"] == "active" and body["agreement"]["accepted_by"] == ADMIN
    assert body["next_renewal_date"] == "2027-11-26"
    evidence = stack.subscriptions.get_subscription(pending).evidence
    assert evidence.channel.value == "portal" and evidence.user_agent == "PortalSPA/2"
    assert [m["Subject"][:18] for m in stack.sent()][-2:] == ["Votre abonnement à", "Facture FR-2026-00"]

    again = _post(
        client,
        stack,
        f"/subscriptions/{pending}/activation",
        {"accept_agreement": True, "agreement_version": "FR-fr-2026.1"},
    )
    assert again.status_code == 409 and len(stack.sent()) == 3


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"accept_agreement": False, "agreement_version": "FR-fr-2026.1"}, 400),
        ({"accept_agreement": "yes", "agreement_version": "FR-fr-2026.1"}, 400),
        ({"agreement_version": "FR-fr-2026.1"}, 400),
        ({"accept_agreement": True, "agreement_version": "FR-fr-2026.1", "extra": 1}, 400),
        ({"accept_agreement": True, "agreement_version": "FR-fr-2025.1"}, 409),
        ("not json", 400),
        ("[]", 400),
        ({"accept_agreement": True, "agreement_version": "x" * 17000}, 413),
    ],
)
def test_bad_activation_requests_change_nothing(client, stack, pending, body, status):
    response = _post(client, stack, f"/subscriptions/{pending}/activation", body)
    assert response.status_code == status, response.body
    assert _body(response)["Message"]
    assert stack.subscriptions.get_subscription(pending).status.value == "pending_activation"
    assert len(stack.sent()) == 1


def test_portal_activation_after_deadline_is_404_because_it_vanished(client, stack, pending):
    stack.clock.advance(days=90, seconds=1)
    response = _post(
        client,
        stack,
        f"/subscriptions/{pending}/activation",
        {"accept_agreement": True, "agreement_version": "FR-fr-2026.1"},
    )
    assert response.status_code == 404
    assert stack.subscriptions.get_subscription(pending).status.value == "pending_activation"


def test_resend_rotates_the_link(client, stack, pending):
    old_token = token_of(stack.sent()[0])

    response = _post(client, stack, f"/subscriptions/{pending}/activation-email", "{}")

    assert response.status_code == 202
    new_token = token_of(stack.sent()[-1])
    assert new_token != old_token
    assert client.http.get(f"/activate/{old_token}").status_code == 404
    assert client.http.get(f"/activate/{new_token}").status_code == 200


def test_resend_on_an_active_subscription_is_409(client, stack, pending):
    _post(
        client,
        stack,
        f"/subscriptions/{pending}/activation",
        {"accept_agreement": True, "agreement_version": "FR-fr-2026.1"},
    )
    assert _post(client, stack, f"/subscriptions/{pending}/activation-email", "{}").status_code == 409


def test_cors_preflight_allows_only_the_portal_origin(client):
    response = client.http.request("OPTIONS", "/subscriptions", headers={"Origin": "https://portal.example.com"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://portal.example.com"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


def test_resend_is_recorded_in_the_history_without_the_link(client, stack, pending):
    before = stack.subscriptions.get_subscription(pending).version

    assert _post(client, stack, f"/subscriptions/{pending}/activation-email", "{}").status_code == 202

    history = _get(client, stack, f"/subscriptions/{pending}/history")
    assert history.status_code == 200
    latest = _body(history)["items"][0]
    assert latest["action"] == "activation_link.resent"
    assert latest["actor"] == ADMIN and latest["details"] == {"to": ADMIN}
    assert stack.subscriptions.get_subscription(pending).version == before + 1
    assert token_of(stack.sent()[-1]) not in json.dumps(latest)
