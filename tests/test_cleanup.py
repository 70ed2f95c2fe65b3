"""The hourly cleanup of unactivated subscriptions (invariant 2)."""

from __future__ import annotations

from chalicelib import jobs
from chalicelib.adapters.dynamodb.schema import shard_of
from chalicelib.services.cleanup import Cleanup
from tests.support import activate, order


def _order(n: int, day: int = 1) -> str:
    return jobs.receive_order(
        order(
            order_id=f"C-{n}",
            ordered_at=f"2026-11-{day:02d}T08:00:00Z",
            admin={"email": f"admin{n}@example.fr", "name": f"Admin {n}"},
        )
    ).subscription_id


def _activate(stack, subscription_id: str, n: int) -> None:
    activate(stack, subscription_id, f"admin{n}@example.fr")


def _run(stack, **kwargs):
    return Cleanup(stack.container.cleanup_store, stack.clock).remove_unactivated(lambda: 900, **kwargs)


def test_removes_every_expired_pending_and_keeps_active_and_unexpired(stack):
    expired = [_order(n, day=1) for n in range(3)]
    active = _order(10, day=1)
    _activate(stack, active, 10)
    fresh = _order(20, day=25)
    stack.clock.advance(days=70)  # now 2027-02-04: orders of 2026-11-01 expired on 2027-01-30

    summary = _run(stack)

    assert summary.as_dict() == {"examined": 3, "removed": 3, "skipped": 0, "complete": True}
    assert all(stack.subscriptions.get_subscription(i) is None for i in expired)
    assert stack.subscriptions.get_subscription(active).status.value == "active"
    assert stack.subscriptions.get_subscription(fresh).status.value == "pending_activation"
    assert stack.container.orders.get_order("C-0").removed
    leftovers = stack.ddb.scan(
        TableName="portal-test",
        FilterExpression="begins_with(PK, :p)",
        ExpressionAttributeValues={":p": {"S": f"SUB#{expired[0]}"}},
    )["Items"]
    assert leftovers == []


def test_deadline_exactly_now_counts_as_passed(stack):
    subscription_id = _order(1, day=1)
    stack.clock.moment = stack.subscriptions.get_subscription(subscription_id).activation_deadline
    assert _run(stack).removed == 1


def test_a_second_run_finds_nothing(stack):
    _order(1)
    stack.clock.advance(days=91)
    assert _run(stack).removed == 1
    assert _run(stack).as_dict() == {"examined": 0, "removed": 0, "skipped": 0, "complete": True}


def test_pagination_reaches_everything(stack):
    for n in range(7):
        _order(n)
    stack.clock.advance(days=91)
    assert _run(stack, page_size=2).removed == 7


def test_stops_cleanly_before_the_timeout_and_the_next_run_finishes(stack):
    for n in range(12):
        _order(n)
    stack.clock.advance(days=91)
    # The run checks its time before each of the 8 shards' pages and each removal: 20 checks; the 13th says stop.
    budget = iter([60.0] * 12 + [5.0] * 20)
    first = Cleanup(stack.container.cleanup_store, stack.clock).remove_unactivated(lambda: next(budget))
    assert first.complete is False and 4 <= first.removed < 12
    assert first.removed + _run(stack).removed == 12


def test_an_activated_subscription_is_never_removed_even_if_the_index_still_lists_it(stack, monkeypatch):
    subscription_id = _order(1)
    stack.clock.advance(days=91)
    # listed while still pending
    store = stack.container.cleanup_store
    stale_listing, _ = store.expired_pending(shard_of(subscription_id), stack.clock.now(), 10, None)
    stack.clock.advance(days=-91)
    _activate(stack, subscription_id, 1)
    stack.clock.advance(days=200)
    assert stale_listing and stale_listing[0].subscription_id == subscription_id
    monkeypatch.setattr(store, "expired_pending", lambda shard, now, limit, start: (stale_listing, None))

    summary = _run(stack)

    assert summary.removed == 0 and summary.skipped == len(store.shards())  # every shard listed it
    assert stack.subscriptions.get_subscription(subscription_id).status.value == "active"
    roles = stack.container.administration_store.get_roles(subscription_id, ["admin1@example.fr"])
    assert roles["admin1@example.fr"] == {"admin"}


def test_cleanup_reads_only_expired_entries(stack):
    for n in range(3):
        _order(n, day=1)
    for n in range(10, 20):
        _order(n, day=25)
    stack.clock.advance(days=70)
    store = stack.container.cleanup_store
    listed = [e for shard in store.shards() for e in store.expired_pending(shard, stack.clock.now(), 100, None)[0]]
    assert len(listed) == 3


def test_cleanup_handler_is_scheduled_and_returns_its_summary(stack, client):
    from chalice.local import LambdaContext

    from app import app

    _order(1)
    stack.clock.advance(days=91)
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    stopped_early = client.lambda_.invoke("cleanup_unactivated", event).payload  # chalice.test claims 3 s left
    assert stopped_early["complete"] is False and stack.container.orders.get_order("C-1").removed is False

    context = LambdaContext("cleanup_unactivated", memory_size=512, max_runtime_ms=900_000)
    assert app.handler_map["cleanup_unactivated"](event, context) == {
        "examined": 1,
        "removed": 1,
        "skipped": 0,
        "complete": True,
    }
