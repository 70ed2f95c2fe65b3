"""DESIGN 5.2 `capabilities` and the product catalogue: what the subscription JSON promises is exactly what the routes
do, for each role, status and product (one function decides both)."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import quote

import pytest

from chalicelib import jobs
from chalicelib.domain.capabilities import CAPABILITIES, CatalogueProduct, ProductCatalogue, capabilities
from chalicelib.domain.models import Role, SubscriptionStatus
from tests.support import ADMIN, SEAT, activate, order

FLEET = {"code": "FLEET-SERVICE", "name": "Fleet management service"}

# One request per capability that has a route; each runs on a fresh stack, so a success changes nothing for another.
REQUESTS = {
    "activate": ("POST", "/activation-email", None),
    "manage_users": ("POST", "/users", {"email": "new.user@example.fr", "name": "New User"}),
    "transfer_admin": ("POST", "/admin-transfer", {"email": "next.admin@example.fr", "name": "Next Admin"}),
    "edit_po_number": ("PATCH", "", {"po_number": "PO-9"}),
    "change_payment_method": ("PUT", "/payment-method", {"type": "invoice"}),
    "cancel": ("POST", "/cancellation", None),
}


def call(client, stack, method, path, body=None, email=ADMIN):
    return client.http.request(
        method,
        path,
        body=json.dumps(body) if body is not None else b"",
        headers={**stack.issuer.bearer(email, "FR"), "Content-Type": "application/json"},
    )


def _subscription(stack, state: str) -> tuple[str, str]:
    """(subscription id, caller) in one of the states the table below covers."""
    product = FLEET if state == "vendor_managed" else None
    subscription_id = jobs.receive_order(order(**({"product": product} if product else {}))).subscription_id
    if state == "pending":
        return subscription_id, ADMIN
    activate(stack, subscription_id)
    if state == "seat_holder":
        from chalicelib.domain.models import Person
        from tests.support import as_admin

        c = stack.container
        c.administration.assign_seat(as_admin(c, ADMIN, subscription_id), Person(email=SEAT, name="Sam Seat"))
        return subscription_id, SEAT
    return subscription_id, ADMIN


EXPECTED = {
    "pending": {"activate"},
    "active": {"manage_users", "transfer_admin", "edit_po_number", "change_payment_method", "cancel", "view_invoices"},
    "vendor_managed": {"transfer_admin", "edit_po_number", "change_payment_method", "cancel", "view_invoices"},
    "seat_holder": set(),
}


@pytest.mark.parametrize("state", list(EXPECTED))
def test_the_subscription_json_lists_exactly_the_capabilities_of_the_caller(client, stack, state):
    subscription_id, caller = _subscription(stack, state)
    detail = json.loads(call(client, stack, "GET", f"/subscriptions/{subscription_id}", email=caller).body)
    assert set(detail["capabilities"]) == set(CAPABILITIES)
    assert {name for name, allowed in detail["capabilities"].items() if allowed} == EXPECTED[state]
    listed = json.loads(call(client, stack, "GET", "/subscriptions", email=caller).body)["items"]
    assert [item["capabilities"] for item in listed] == [detail["capabilities"]]


@pytest.mark.parametrize("capability", list(REQUESTS))
@pytest.mark.parametrize("state", list(EXPECTED))
def test_a_route_succeeds_exactly_when_its_capability_says_so(client, stack, state, capability):
    subscription_id, caller = _subscription(stack, state)
    shown = json.loads(call(client, stack, "GET", f"/subscriptions/{subscription_id}", email=caller).body)
    method, suffix, body = REQUESTS[capability]
    response = call(client, stack, method, f"/subscriptions/{subscription_id}{suffix}", body, email=caller)
    assert (response.status_code < 300) is shown["capabilities"][capability], response.body
    if not shown["capabilities"][capability]:
        expected = 403 if state == "seat_holder" else 409
        assert response.status_code == expected and set(json.loads(response.body)) == {"Code", "Message"}


def test_a_vendor_managed_product_lists_its_users_but_refuses_seat_changes_saying_why(client, stack):
    subscription_id, _ = _subscription(stack, "vendor_managed")
    users = call(client, stack, "GET", f"/subscriptions/{subscription_id}/users")
    assert users.status_code == 200 and json.loads(users.body)["seats"] == {"quantity": 5, "used": 0}
    person = {"email": "a@example.fr", "name": "A"}
    added = call(client, stack, "POST", f"/subscriptions/{subscription_id}/users", person)
    removed = call(client, stack, "DELETE", f"/subscriptions/{subscription_id}/users/{quote(SEAT)}")
    for refused in (added, removed):
        assert refused.status_code == 409
        message = json.loads(refused.body)["Message"]
        assert "vendor manages" in message and "Fleet management service" in message
    after = json.loads(call(client, stack, "GET", f"/subscriptions/{subscription_id}/users").body)
    assert after["items"] == [] and after["seats"]["used"] == 0


def test_a_product_missing_from_the_catalogue_is_self_service(client, stack):
    subscription_id = jobs.receive_order(order(product={"code": "NEW-PRODUCT", "name": "New"})).subscription_id
    activate(stack, subscription_id)
    detail = json.loads(call(client, stack, "GET", f"/subscriptions/{subscription_id}").body)
    assert detail["capabilities"]["manage_users"] is True
    person = {"email": "a@example.fr", "name": "A"}
    added = call(client, stack, "POST", f"/subscriptions/{subscription_id}/users", person)
    assert added.status_code == 201


def test_an_ended_subscription_keeps_only_its_invoices(stack, active):
    current = stack.container.subscriptions.get_subscription(active)
    ended = replace(current, status=SubscriptionStatus.ENDED)
    catalogue = ProductCatalogue({"PROFIS-ENG": CatalogueProduct(name="PROFIS Engineering Suite")})
    assert {k for k, v in capabilities(Role.ADMIN, ended, catalogue).items() if v} == {"view_invoices"}
    assert not any(capabilities(Role.USER, ended, catalogue).values())
