"""Races on a moto whose DynamoDB backend is serialized like the real service (DEVELOPERS.md: plain moto oversells).

Requests go through the real Chalice handler with a thread-local current request, as `chalice local` does.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from chalice.local import LambdaContext, LocalChalice

from app import app
from chalicelib import jobs
from chalicelib.adapters.clock import FixedClock
from chalicelib.domain.errors import DeadlinePassed, NotFound
from chalicelib.domain.models import Role
from chalicelib.services.access import SubscriptionAccess
from chalicelib.services.activation import Activation, RequestContext
from chalicelib.services.cleanup import Cleanup
from chalicelib.services.identity import Caller
from chalicelib.services.invoicing import InvoiceIssuer
from devstack.moto_lock import serialize_dynamodb
from tests.support import ORDER, activate, order, token_of

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(autouse=True)
def linearizable_moto():
    serialize_dynamodb()


@pytest.fixture
def gateway(client):
    """The test client's gateway, on an app whose current_request is per thread (as chalice local makes it)."""
    if not isinstance(app, LocalChalice):
        from chalice.local import CustomLocalChalice

        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    return client.http._local_gateway


def test_fifty_parallel_posts_of_one_link_activate_once_and_confirm_once(stack, gateway):
    subscription_id = jobs.receive_order(ORDER).subscription_id
    token = token_of(stack.sent()[0])
    start = threading.Barrier(50)

    def post(n: int) -> tuple[int, str]:
        start.wait()
        response = gateway.handle_request(
            "POST",
            f"/activate/{token}",
            {**FORM, "user-agent": f"client-{n}"},
            b"accept=yes&agreement_version=FR-fr-2026.1",
        )
        body = response["body"]
        return response["statusCode"], body.decode() if isinstance(body, bytes) else body

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(post, range(50)))

    assert {status for status, _ in results} == {200}
    confirmed = [body for _, body in results if "Votre abonnement est activé" in body]
    already = [body for _, body in results if "déjà activé" in body]
    assert len(confirmed) == 1 and len(already) == 49
    subscription = stack.subscriptions.get_subscription(subscription_id)
    assert subscription.status.value == "active" and subscription.version == 2
    assert len([m for m in stack.sent() if m["Subject"].endswith("est activé")]) == 1
    events = stack.ddb.query(
        TableName="portal-test",
        KeyConditionExpression="PK = :pk AND begins_with(SK, :e)",
        ExpressionAttributeValues={":pk": {"S": f"SUB#{subscription_id}"}, ":e": {"S": "EVENT#"}},
    )["Items"]
    assert len(events) == 1
    jobs_summary = (stack.clock.advance(minutes=3), jobs.run_outbox())[1]
    assert jobs_summary["sent"] == 0


def test_activation_racing_cleanup_at_the_deadline_never_activates_then_removes(stack):
    c = stack.container
    rounds = 30
    ids = [
        jobs.receive_order(order(order_id=f"R-{n}", admin={"email": f"r{n}@example.fr", "name": "R"})).subscription_id
        for n in range(rounds)
    ]
    deadline = stack.subscriptions.get_subscription(ids[0]).activation_deadline
    just_before = FixedClock(deadline - timedelta(milliseconds=1))
    at_deadline = FixedClock(deadline)
    outcomes: dict[str, bool] = {}
    unexpected: list[BaseException] = []

    access = SubscriptionAccess(c.subscriptions, just_before)
    issuer = InvoiceIssuer(c.invoices, c.sellers, just_before, c.unit_of_work)
    activation = Activation(
        c.orders, c.subscriptions, just_before, c.agreements, c.link_secret, c.delivery, issuer, c.unit_of_work
    )

    def activate(n: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            admin = access.authorize(Caller(f"r{n}@example.fr", "FR"), ids[n], role=Role.ADMIN, active=False)
            result = activation.activate_in_portal(
                admin, accepted=True, agreement_version="FR-fr-2026.1", context=RequestContext("1.1.1.1", "race")
            )
            outcomes[ids[n]] = result.newly_activated
        except (NotFound, DeadlinePassed):  # lost to the cleanup: 404/410 for the caller
            outcomes[ids[n]] = False
        except BaseException as error:  # anything else fails the test below
            unexpected.append(error)

    def clean(barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            Cleanup(c.cleanup_store, at_deadline).remove_unactivated(lambda: 900, page_size=3)
        except BaseException as error:
            unexpected.append(error)

    for n in range(rounds):
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=activate, args=(n, barrier)),
            threading.Thread(target=clean, args=(barrier,)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert unexpected == [] and len(outcomes) == rounds
    activated = [i for i, won in outcomes.items() if won]
    for subscription_id in ids:
        stored = stack.subscriptions.get_subscription(subscription_id)
        if subscription_id in activated:
            assert stored is not None and stored.status.value == "active", "activated, then removed"
        else:
            assert stored is None or stored.status.value == "pending_activation"
    # A final run at the deadline leaves no pending subscription behind (invariant 2, second half).
    Cleanup(c.cleanup_store, at_deadline).remove_unactivated(lambda: 900)
    survivors = [stack.subscriptions.get_subscription(i) for i in ids]
    assert all(s is None or s.status.value == "active" for s in survivors)
    confirmations = [m for m in stack.sent() if m["Subject"].endswith("est activé")]
    assert len(confirmations) == len(activated)


def test_parallel_redeliveries_of_one_order_create_one_subscription_and_one_email(stack):
    barrier = threading.Barrier(20)

    def deliver(_: int):
        barrier.wait()
        return jobs.receive_order(ORDER)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(deliver, range(20)))

    assert len({r.subscription_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert len(stack.sent()) == 1


def test_two_outbox_jobs_at_once_send_each_email_once(stack, monkeypatch):
    from chalicelib.services.outbox import Delivery

    monkeypatch.setattr(Delivery, "deliver_now", lambda self, emails: None)  # leave everything to the jobs
    for n in range(12):
        jobs.receive_order(order(order_id=f"O-{n}", admin={"email": f"o{n}@example.fr", "name": "O"}))
    stack.clock.advance(minutes=3)
    monkeypatch.undo()
    barrier = threading.Barrier(2)

    def run(_: int):
        barrier.wait()
        return jobs.run_outbox(LambdaContext("deliver_outbox", 128, max_runtime_ms=120_000))

    with ThreadPoolExecutor(max_workers=2) as pool:
        summaries = list(pool.map(run, range(2)))

    assert sum(s["sent"] for s in summaries) == 12
    assert sorted(m["To"] for m in stack.sent()) == sorted(f"o{n}@example.fr" for n in range(12))


def _active_subscription(stack) -> str:
    subscription_id = jobs.receive_order(ORDER).subscription_id
    activate(stack, subscription_id)
    return subscription_id


def _parallel(gateway, requests: list[tuple[str, str, dict, bytes]]) -> list[tuple[int, str]]:
    barrier = threading.Barrier(len(requests))

    def send(request):
        method, path, headers, body = request
        barrier.wait()
        response = gateway.handle_request(method, path, headers, body)
        text = response["body"]
        return response["statusCode"], text.decode() if isinstance(text, bytes) else text

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def _json_headers(stack, email="marie.dupont@example.fr", **extra):
    return {
        **{k.lower(): v for k, v in stack.issuer.bearer(email, "FR").items()},
        "content-type": "application/json",
        **extra,
    }


def test_fifty_parallel_assignments_on_five_free_seats_give_exactly_five(stack, gateway):
    import json

    subscription_id = _active_subscription(stack)
    headers = _json_headers(stack)
    requests = [
        (
            "POST",
            f"/subscriptions/{subscription_id}/users",
            headers,
            json.dumps({"email": f"user{n}@example.fr", "name": f"User {n}"}).encode(),
        )
        for n in range(50)
    ]

    results = _parallel(gateway, requests)

    statuses = [status for status, _ in results]
    assert statuses.count(201) == 5 and statuses.count(409) == 45, statuses
    subscription = stack.subscriptions.get_subscription(subscription_id)
    seats, _ = stack.container.administration_store.list_seats(subscription_id, 100, None)
    assert subscription.seats_used == len(seats) == 5
    assert len([m for m in stack.sent() if m["To"].startswith("user")]) == 5


def test_parallel_assignments_of_the_same_person_give_one_seat(stack, gateway):
    import json

    subscription_id = _active_subscription(stack)
    body = json.dumps({"email": "same@example.fr", "name": "Same"}).encode()
    results = _parallel(gateway, [("POST", f"/subscriptions/{subscription_id}/users", _json_headers(stack), body)] * 20)

    assert sorted(status for status, _ in results) == [201] + [409] * 19
    assert stack.subscriptions.get_subscription(subscription_id).seats_used == 1


def test_two_parallel_transfers_leave_exactly_one_admin(stack, gateway):
    import json

    subscription_id = _active_subscription(stack)
    headers = _json_headers(stack)
    requests = [
        (
            "POST",
            f"/subscriptions/{subscription_id}/admin-transfer",
            headers,
            json.dumps({"email": f"heir{n}@example.fr", "name": f"Heir {n}"}).encode(),
        )
        for n in range(2)
    ]

    results = _parallel(gateway, requests)

    # The loser is refused whichever way it lost: no longer admin (403), no longer able to see it (404), or the
    # subscription changed under it (409).
    winner, loser = sorted(status for status, _ in results)
    assert winner == 200 and loser in (403, 404, 409)
    subscription = stack.subscriptions.get_subscription(subscription_id)
    admins = [
        item
        for item in stack.ddb.query(
            TableName="portal-test",
            KeyConditionExpression="PK = :pk AND begins_with(SK, :a)",
            ExpressionAttributeValues={":pk": {"S": f"SUB#{subscription_id}"}, ":a": {"S": "ACCESS#"}},
        )["Items"]
        if "admin" in item["roles"]["SS"]
    ]
    assert len(admins) == 1 and admins[0]["SK"]["S"] == f"ACCESS#{subscription.admin.key}"
    assert subscription.admin.email.startswith("heir")


def test_parallel_po_edits_with_the_same_if_match_have_one_winner(stack, gateway):
    import json

    subscription_id = _active_subscription(stack)
    etag = f'"{stack.subscriptions.get_subscription(subscription_id).version}"'
    requests = [
        (
            "PATCH",
            f"/subscriptions/{subscription_id}",
            _json_headers(stack, **{"if-match": etag}),
            json.dumps({"po_number": f"PO-{n}"}).encode(),
        )
        for n in range(10)
    ]

    results = _parallel(gateway, requests)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [412] * 9
    winner = next(json.loads(body)["po_number"] for status, body in results if status == 200)
    assert stack.subscriptions.get_subscription(subscription_id).po_number == winner
