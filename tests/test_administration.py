"""Administration of active subscriptions: every route for every role and state, bad inputs, emails, history."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from chalicelib import jobs
from tests.support import ADMIN, SEAT, activate, html_part, order, text_part


def call(client, stack, method, path, body=None, email=ADMIN, country="FR", **headers):
    auth = stack.issuer.bearer(email, country) if email else {}
    data = body if isinstance(body, str) or body is None else json.dumps(body)
    return client.http.request(
        method, path, body=data or b"", headers={**auth, "Content-Type": "application/json", **headers}
    )


def body_of(response):
    return json.loads(response.body) if response.body else None


ROUTES = [
    ("GET", "/users", None, 200),
    ("POST", "/users", {"email": "new.user@example.fr", "name": "New User"}, 201),
    ("DELETE", f"/users/{quote(SEAT)}", None, 204),
    ("GET", "/admin-candidates", None, 200),
    ("POST", "/admin-transfer", {"email": "next.admin@example.fr", "name": "Next Admin"}, 200),
    ("PATCH", "", {"po_number": "PO-9"}, 200),
    ("PUT", "/payment-method", {"type": "invoice"}, 200),
    ("GET", "/agreement", None, 200),
    ("POST", "/cancellation", None, 200),
    ("DELETE", "/cancellation", None, 200),
    ("GET", "/history", None, 200),
]
MUTATIONS = [r for r in ROUTES if r[0] != "GET"]


@pytest.mark.parametrize(("method", "suffix", "body", "status"), ROUTES)
def test_admin_may_use_every_route(client, stack, active, method, suffix, body, status):
    response = call(client, stack, method, f"/subscriptions/{active}{suffix}", body)
    assert response.status_code == status, response.body


@pytest.mark.parametrize(("method", "suffix", "body", "status"), ROUTES)
@pytest.mark.parametrize(
    ("who", "country", "expected"),
    [(SEAT, "FR", 403), ("stranger@example.fr", "FR", 404), (ADMIN, "DE", 404), (None, "FR", 401)],
)
def test_no_one_else_may(client, stack, active, method, suffix, body, status, who, country, expected):
    before = stack.subscriptions.get_subscription(active)
    mails = len(stack.sent())

    response = call(client, stack, method, f"/subscriptions/{active}{suffix}", body, email=who, country=country)

    assert response.status_code == expected, response.body
    assert body_of(response)["Message"]
    assert stack.subscriptions.get_subscription(active) == before and len(stack.sent()) == mails


@pytest.mark.parametrize(  # agreement and history are read-only: readable while pending and once ENDED
    ("method", "suffix", "body", "status"), [r for r in ROUTES if r[1] not in ("/agreement", "/history")]
)
def test_pending_subscriptions_cannot_be_managed(client, stack, pending, method, suffix, body, status):
    response = call(client, stack, method, f"/subscriptions/{pending}{suffix}", body)
    assert response.status_code == 409, response.body
    assert "active" in body_of(response)["Message"]


def test_agreement_is_readable_while_pending_so_the_portal_can_show_it_before_activation(client, stack, pending):
    agreement = body_of(call(client, stack, "GET", f"/subscriptions/{pending}/agreement"))
    assert agreement["version"] == "FR-fr-2026.1" and agreement["accepted_at"] is None
    assert "TEXTE D" in agreement["title"] and len(agreement["text"]) > 500


# -- seats -----------------------------------------------------------------------------------------------------------
def test_seats_fill_up_to_the_quantity_and_holders_see_the_reduced_view(client, stack, active):
    for n in range(4):
        assert (
            call(
                client,
                stack,
                "POST",
                f"/subscriptions/{active}/users",
                {"email": f"user{n}@example.fr", "name": f"User {n}"},
            ).status_code
            == 201
        )
    full = call(client, stack, "POST", f"/subscriptions/{active}/users", {"email": "late@example.fr", "name": "L"})
    assert full.status_code == 409 and "seats" in body_of(full)["Message"]

    users = body_of(call(client, stack, "GET", f"/subscriptions/{active}/users"))
    assert users["seats"] == {"quantity": 5, "used": 5} and len(users["items"]) == 5
    view = body_of(call(client, stack, "GET", f"/subscriptions/{active}", email="user0@example.fr"))
    assert view["role"] == "user" and set(view) == {
        "id",
        "status",
        "role",
        "product",
        "country",
        "customer",
        "admin",
        "next_renewal_date",
        "capabilities",
    }
    assert not any(view["capabilities"].values())  # a seat holder can do none of the admin's actions
    listed = body_of(call(client, stack, "GET", "/subscriptions", email="user0@example.fr"))["items"]
    assert [i["role"] for i in listed] == ["user"]


def test_one_seat_per_email_case_insensitively(client, stack, active):
    again = call(client, stack, "POST", f"/subscriptions/{active}/users", {"email": "Sam.Seat@Example.FR", "name": "S"})
    assert again.status_code == 409 and "already" in body_of(again)["Message"]
    assert stack.subscriptions.get_subscription(active).seats_used == 1


@pytest.mark.parametrize(
    "body",
    [
        {"email": "nope", "name": "X"},
        {"email": "a@example.fr"},
        {"name": "X"},
        {"email": "a@example.fr", "name": ""},
        {"email": "a@example.fr", "name": "X", "role": "admin"},
        {"email": ["a@example.fr"], "name": "X"},
    ],
)
def test_bad_seat_requests_are_400_and_change_nothing(client, stack, active, body):
    response = call(client, stack, "POST", f"/subscriptions/{active}/users", body)
    assert response.status_code == 400 and body_of(response)["Message"]
    assert stack.subscriptions.get_subscription(active).seats_used == 1


def test_assigned_and_removed_people_are_told_and_lose_access(client, stack, active):
    assigned = stack.mails_to(SEAT)
    assert len(assigned) == 1 and "accès" in assigned[0]["Subject"] and "Sam Seat" in text_part(assigned[0])
    assert body_of(call(client, stack, "GET", "/me/entitlements", email=SEAT))["items"][0]["product"]["code"] == (
        "PROFIS-ENG"
    )

    assert call(client, stack, "DELETE", f"/subscriptions/{active}/users/{quote(SEAT)}").status_code == 204

    assert "retiré" in stack.mails_to(SEAT)[-1]["Subject"]
    assert call(client, stack, "GET", f"/subscriptions/{active}", email=SEAT).status_code == 404
    assert body_of(call(client, stack, "GET", "/me/entitlements", email=SEAT))["items"] == []
    assert stack.subscriptions.get_subscription(active).seats_used == 0
    missing = call(client, stack, "DELETE", f"/subscriptions/{active}/users/{quote(SEAT)}")
    assert missing.status_code == 404


def test_entitlements_need_an_active_subscription_a_seat_and_the_same_country(client, stack, active, pending):
    assert body_of(call(client, stack, "GET", "/me/entitlements", email=ADMIN))["items"] == []  # admin without seat
    assert body_of(call(client, stack, "GET", "/me/entitlements", email=SEAT, country="DE"))["items"] == []
    items = body_of(call(client, stack, "GET", "/me/entitlements", email=SEAT))["items"]
    assert items == [
        {
            "subscription_id": active,
            "product": {"code": "PROFIS-ENG", "name": "PROFIS Engineering Suite"},
            "customer": {"id": "0001234567", "name": "Dupont BTP SARL"},
            "valid_until": "2027-11-26",
        }
    ]


def test_seat_list_is_paginated(client, stack, active):
    for n in range(3):
        call(client, stack, "POST", f"/subscriptions/{active}/users", {"email": f"p{n}@example.fr", "name": "P"})
    seen, cursor = [], None
    while True:
        page = body_of(
            call(
                client, stack, "GET", f"/subscriptions/{active}/users?limit=2" + (f"&cursor={cursor}" if cursor else "")
            )
        )
        seen += [i["email"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted([SEAT, "p0@example.fr", "p1@example.fr", "p2@example.fr"])
    assert call(client, stack, "GET", f"/subscriptions/{active}/users?cursor=bogus").status_code == 400


# -- admin transfer --------------------------------------------------------------------------------------------------
def test_candidates_are_seat_holders_and_earlier_contacts_of_the_customer(client, stack, active):
    other = jobs.receive_order(order(order_id="O-2", admin={"email": "paul.old@example.fr", "name": "Paul Old"}))
    assert other.created
    page = body_of(call(client, stack, "GET", f"/subscriptions/{active}/admin-candidates"))
    items = page["items"]
    assert page["next_cursor"] is None
    assert {(i["email"], tuple(i["sources"])) for i in items} == {
        ("paul.old@example.fr", ("customer_contact",)),
        (SEAT, ("seat_holder", "customer_contact")),
    }


def test_transfer_is_immediate_tells_both_and_the_old_admin_keeps_only_a_held_seat(client, stack, active):
    response = call(client, stack, "POST", f"/subscriptions/{active}/admin-transfer", {"email": SEAT, "name": "Sam"})

    assert response.status_code == 200
    assert body_of(call(client, stack, "GET", f"/subscriptions/{active}", email=SEAT))["role"] == "admin"
    assert call(client, stack, "GET", f"/subscriptions/{active}", email=ADMIN).status_code == 404
    assert "êtes maintenant l’administrateur" in stack.mails_to(SEAT)[-1]["Subject"]
    assert "n’êtes plus" in stack.mails_to(ADMIN)[-1]["Subject"]
    # Sam held a seat before and keeps it as admin; hand it back: Marie had no seat, so she is only told.
    call(client, stack, "POST", f"/subscriptions/{active}/users", {"email": ADMIN, "name": "Marie"}, email=SEAT)
    call(
        client, stack, "POST", f"/subscriptions/{active}/admin-transfer", {"email": ADMIN, "name": "Marie"}, email=SEAT
    )
    assert body_of(call(client, stack, "GET", f"/subscriptions/{active}", email=SEAT))["role"] == "user"
    assert body_of(call(client, stack, "GET", f"/subscriptions/{active}"))["role"] == "admin"


def test_transfer_kills_the_old_admins_activation_link(client, stack, pending):
    from tests.support import token_of

    token = token_of(stack.sent()[0])
    activate(stack, pending)
    assert client.http.get(f"/activate/{token}").status_code == 200  # "already activated"
    call(client, stack, "POST", f"/subscriptions/{pending}/admin-transfer", {"email": "new@example.fr", "name": "N"})
    assert client.http.get(f"/activate/{token}").status_code == 404


@pytest.mark.parametrize("body", [{"email": ADMIN, "name": "Marie"}, {"email": "bad", "name": "X"}, {"name": "X"}])
def test_bad_transfers_change_nothing(client, stack, active, body):
    response = call(client, stack, "POST", f"/subscriptions/{active}/admin-transfer", body)
    assert response.status_code in (400, 409)
    assert stack.subscriptions.get_subscription(active).admin.email == ADMIN


# -- PO number -------------------------------------------------------------------------------------------------------
def test_po_number_edit_with_if_match(client, stack, active):
    detail = call(client, stack, "GET", f"/subscriptions/{active}")
    etag = detail.headers["ETag"]

    edited = call(client, stack, "PATCH", f"/subscriptions/{active}", {"po_number": "PO-2027-01"}, **{"If-Match": etag})
    assert edited.status_code == 200 and body_of(edited)["po_number"] == "PO-2027-01"
    assert edited.headers["ETag"] != etag

    stale = call(client, stack, "PATCH", f"/subscriptions/{active}", {"po_number": "PO-X"}, **{"If-Match": etag})
    assert stale.status_code == 412
    assert stack.subscriptions.get_subscription(active).po_number == "PO-2027-01"


@pytest.mark.parametrize(
    "body",
    [
        {"po_number": "P" * 36},
        {"po_number": "PO\n1"},
        {"po_number": 7781},
        {"status": "ended"},
        {"po_number": "PO-1", "license_quantity": 500},
        {},
    ],
)
def test_only_a_valid_po_number_is_patchable(client, stack, active, body):
    response = call(client, stack, "PATCH", f"/subscriptions/{active}", body)
    assert response.status_code == 400 and body_of(response)["Message"]
    assert stack.subscriptions.get_subscription(active).po_number == "PO-7781"


# -- payment method --------------------------------------------------------------------------------------------------
CARD = {"type": "card", "token": "pm_1QxYz", "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}


def test_card_token_is_stored_and_shown_without_the_token(client, stack, active):
    response = call(client, stack, "PUT", f"/subscriptions/{active}/payment-method", CARD)
    assert response.status_code == 200
    assert body_of(response)["payment_method"] == {
        "type": "card",
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2030,
    }
    history = body_of(call(client, stack, "GET", f"/subscriptions/{active}/history"))["items"]
    assert "pm_1QxYz" not in json.dumps(history)


@pytest.mark.parametrize(
    "body",
    [
        {**CARD, "token": "4111111111111111"},
        {**CARD, "note": "4111 1111 1111 1111"},
        {**CARD, "token": "pm_x", "card_number": "5555-5555-5555-4444"},
        {"type": "invoice", "comment": "use 378282246310005"},
        {**CARD, "cvv": "123"},
    ],
)
def test_anything_like_a_card_number_is_refused_and_never_stored_or_logged(client, stack, active, body, caplog):
    response = call(client, stack, "PUT", f"/subscriptions/{active}/payment-method", body)

    assert response.status_code == 400
    dump = json.dumps(stack.ddb.scan(TableName="portal-test")["Items"]) + caplog.text + response.body.decode()
    for number in ("4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005"):
        assert number not in dump
    assert stack.subscriptions.get_subscription(active).payment_method.type == "invoice"


@pytest.mark.parametrize(
    "body",
    [
        {"type": "cash"},
        {"type": "invoice", "extra": 1},
        {**CARD, "last4": "42"},
        {**CARD, "exp_month": 13},
        {**CARD, "exp_year": 2020},
        {**CARD, "brand": "monopoly"},
        {**CARD, "token": ""},
    ],
)
def test_bad_payment_methods_are_400(client, stack, active, body):
    assert call(client, stack, "PUT", f"/subscriptions/{active}/payment-method", body).status_code == 400
    assert stack.subscriptions.get_subscription(active).payment_method.type == "invoice"


# -- cancellation ----------------------------------------------------------------------------------------------------
def test_cancel_and_withdraw_email_each_time_and_repeat_is_a_no_op(client, stack, active):
    cancelled = call(client, stack, "POST", f"/subscriptions/{active}/cancellation")
    assert body_of(cancelled)["cancel_at_renewal"] is True
    assert "prendra fin le 26/11/2027" in stack.mails_to(ADMIN)[-1]["Subject"]
    mails = len(stack.sent())
    assert body_of(call(client, stack, "POST", f"/subscriptions/{active}/cancellation"))["cancel_at_renewal"] is True
    assert len(stack.sent()) == mails

    call(client, stack, "PATCH", f"/subscriptions/{active}", {"po_number": "PO-NEW"})
    call(client, stack, "PUT", f"/subscriptions/{active}/payment-method", CARD)
    call(client, stack, "POST", f"/subscriptions/{active}/users", {"email": "x@example.fr", "name": "X"})
    assert stack.subscriptions.get_subscription(active).cancel_at_renewal is True  # no other edit clears it

    withdrawn = call(client, stack, "DELETE", f"/subscriptions/{active}/cancellation")
    assert body_of(withdrawn)["cancel_at_renewal"] is False
    assert "sera renouvelé" in stack.mails_to(ADMIN)[-1]["Subject"]


# -- history and agreement -------------------------------------------------------------------------------------------
def test_history_lists_every_change_newest_first_paginated(client, stack, active):
    call(client, stack, "PATCH", f"/subscriptions/{active}", {"po_number": "PO-A"})
    call(client, stack, "POST", f"/subscriptions/{active}/cancellation")
    stack.clock.advance(seconds=1)
    call(client, stack, "DELETE", f"/subscriptions/{active}/cancellation")

    first = body_of(call(client, stack, "GET", f"/subscriptions/{active}/history?limit=2"))
    rest = body_of(call(client, stack, "GET", f"/subscriptions/{active}/history?cursor={first['next_cursor']}"))

    actions = [e["action"] for e in first["items"] + rest["items"]]
    assert actions[0] == "cancellation.withdrawn" and actions[-1] == "subscription.activated"
    assert set(actions) == {
        "subscription.activated",
        "seat.assigned",
        "po_number.changed",
        "cancellation.scheduled",
        "cancellation.withdrawn",
    }
    assert all(e["actor"] == ADMIN for e in first["items"])


def test_agreement_shows_what_was_accepted_by_whom_and_when(client, stack, active):
    agreement = body_of(call(client, stack, "GET", f"/subscriptions/{active}/agreement"))
    assert agreement["version"] == "FR-fr-2026.1" and agreement["accepted_by"] == ADMIN
    assert agreement["accepted_at"] == "2026-11-26T10:00:00.000Z"


# -- idempotency -----------------------------------------------------------------------------------------------------
def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer_and_changes_nothing(client, stack, active):
    key = {"Idempotency-Key": "retry-1"}
    first = call(client, stack, "POST", f"/subscriptions/{active}/users", {"email": "i@example.fr", "name": "I"}, **key)
    mails = len(stack.sent())
    again = call(client, stack, "POST", f"/subscriptions/{active}/users", {"email": "i@example.fr", "name": "I"}, **key)

    assert first.status_code == again.status_code == 201
    assert body_of(first) == body_of(again) and again.headers["Idempotent-Replayed"] == "true"
    assert stack.subscriptions.get_subscription(active).seats_used == 2 and len(stack.sent()) == mails

    other = call(client, stack, "POST", f"/subscriptions/{active}/users", {"email": "j@example.fr", "name": "J"}, **key)
    assert other.status_code == 422 and "different request" in body_of(other)["Message"]


def test_idempotent_retry_of_a_po_edit_and_of_a_refused_request(client, stack, active):
    key = {"Idempotency-Key": "po-1"}
    call(client, stack, "PATCH", f"/subscriptions/{active}", {"po_number": "PO-I"}, **key)
    version = stack.subscriptions.get_subscription(active).version
    again = call(client, stack, "PATCH", f"/subscriptions/{active}", {"po_number": "PO-I"}, **key)
    assert again.status_code == 200 and stack.subscriptions.get_subscription(active).version == version

    refused = {"Idempotency-Key": "bad-1"}
    assert (
        call(client, stack, "PATCH", f"/subscriptions/{active}", {"po_number": "P" * 40}, **refused).status_code == 400
    )
    assert (
        call(client, stack, "PATCH", f"/subscriptions/{active}", {"po_number": "P" * 40}, **refused).status_code == 400
    )


def test_keys_are_scoped_to_the_caller(client, stack, active):
    key = {"Idempotency-Key": "shared"}
    assert call(client, stack, "POST", f"/subscriptions/{active}/cancellation", **key).status_code == 200
    response = call(client, stack, "POST", f"/subscriptions/{active}/cancellation", email=SEAT, **key)
    assert response.status_code == 403


def test_candidates_are_paginated_seat_holders_first_without_repeats(client, stack, active):
    for n in range(3):
        call(client, stack, "POST", f"/subscriptions/{active}/users", {"email": f"c{n}@example.fr", "name": f"C{n}"})
    for n in range(3):
        jobs.receive_order(order(order_id=f"K-{n}", admin={"email": f"k{n}@example.fr", "name": f"K{n}"}))
    seen, cursor, pages = [], None, 0
    while True:
        page = body_of(
            call(
                client,
                stack,
                "GET",
                f"/subscriptions/{active}/admin-candidates?limit=2" + (f"&cursor={cursor}" if cursor else ""),
            )
        )
        assert len(page["items"]) <= 2
        seen += [i["email"] for i in page["items"]]
        cursor, pages = page["next_cursor"], pages + 1
        if not cursor:
            break
    assert sorted(seen) == sorted(
        [SEAT, "c0@example.fr", "c1@example.fr", "c2@example.fr", "k0@example.fr", "k1@example.fr", "k2@example.fr"]
    )
    assert len(seen) == len(set(seen)) and ADMIN not in seen and pages >= 4
    assert call(client, stack, "GET", f"/subscriptions/{active}/admin-candidates?cursor=x").status_code == 400


def test_a_seat_holders_emails_withhold_the_order_id_their_view_withholds(client, stack, active):
    order_id = body_of(call(client, stack, "GET", f"/subscriptions/{active}"))["order_id"]
    assert call(client, stack, "DELETE", f"/subscriptions/{active}/users/{quote(SEAT)}").status_code == 204
    to_seat_holder = stack.mails_to(SEAT)
    assert [m["Subject"] for m in to_seat_holder] and len(to_seat_holder) == 2  # assigned, then removed
    for mail in to_seat_holder:
        assert order_id not in text_part(mail) and order_id not in html_part(mail) and active in text_part(mail)
    assert any(order_id in text_part(m) for m in stack.mails_to(ADMIN))  # the buyer's own emails still cite it
