"""The sparse indexes' write shards (adapters/dynamodb/schema.py): entries spread over every shard, each job reads them
all, and entries an earlier release wrote with the unsharded key (`PENDING`, `ACTIVE`, `UNSENT`) are still found."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from chalicelib import jobs
from chalicelib.adapters.dynamodb.schema import INDEX_SHARDS, shard_of, sharded
from chalicelib.services.cleanup import Cleanup
from tests.support import ADMIN, TABLE, Stack, activate, order


def _unshard(stack: Stack, pk: str, sk: str, attribute: str, legacy: str) -> None:
    """What an earlier release wrote: the index's partition key without its shard suffix."""
    stack.ddb.update_item(
        TableName=TABLE,
        Key={"PK": {"S": pk}, "SK": {"S": sk}},
        UpdateExpression=f"SET {attribute} = :legacy",
        ExpressionAttributeValues={":legacy": {"S": legacy}},
    )


def test_entries_spread_over_every_shard_by_their_own_id():
    counts = Counter(shard_of(f"subscription-{n}") for n in range(800))
    assert set(counts) == set(range(INDEX_SHARDS)) and min(counts.values()) > 60
    assert sharded("ACTIVE", "x") == sharded("ACTIVE", "x") == f"ACTIVE#{shard_of('x')}"


def test_a_pending_subscription_written_unsharded_is_still_removed_at_its_deadline(stack):
    subscription_id = jobs.receive_order(order()).subscription_id
    _unshard(stack, f"SUB#{subscription_id}", "SUB", "DLPK", "PENDING")
    stack.clock.advance(days=91)
    summary = Cleanup(stack.container.cleanup_store, stack.clock).remove_unactivated(lambda: 900)
    assert summary.removed == 1 and stack.subscriptions.get_subscription(subscription_id) is None


def test_an_active_subscription_written_unsharded_renews_term_after_term(stack):
    subscription_id = jobs.receive_order(order()).subscription_id
    activate(stack, subscription_id)
    _unshard(stack, f"SUB#{subscription_id}", "SUB", "RNPK", "ACTIVE")
    for year in (2027, 2028):
        stack.clock.moment = stack.clock.now().replace(year=year) + timedelta(days=1)
        assert stack.run_job("process_renewals")["renewed"] == 1
    assert stack.subscriptions.get_subscription(subscription_id).next_renewal_date == date(2029, 11, 26)


def test_an_email_queued_unsharded_is_still_delivered_by_the_outbox(stack, monkeypatch):
    with monkeypatch.context() as outage:  # SES down: the activation email waits in the outbox
        outage.setattr(stack.container.mailer, "send", lambda email: (_ for _ in ()).throw(RuntimeError("SES down")))
        jobs.receive_order(order())
    (mail,) = stack.ddb.scan(
        TableName=TABLE, FilterExpression="begins_with(PK, :m)", ExpressionAttributeValues={":m": {"S": "MAIL#"}}
    )["Items"]
    _unshard(stack, mail["PK"]["S"], "MAIL", "OBPK", "UNSENT")
    stack.clock.advance(minutes=10)
    assert jobs.run_outbox()["sent"] == 1
    assert len(stack.mails_to(ADMIN)) == 1
