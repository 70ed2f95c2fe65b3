"""The jobs' fan-out (services/fanout.py): the scheduled runs list and queue, the job_worker function does the items on
the real (moto) work queue. Every due item is done exactly once whatever fails: a worker midway through a message, a
whole batch, a worker racing another, a message no worker can do, the queue refusing messages."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest

from app import job_worker
from chalicelib import jobs, metrics
from chalicelib.adapters.dynamodb.schema import shard_of
from chalicelib.adapters.work_queue import ITEMS_PER_MESSAGE, SqsWorkQueue
from chalicelib.domain.errors import WorkNotQueued
from chalicelib.domain.models import Subscription
from devstack.moto_lock import serialize_dynamodb
from devstack.queues import WORK
from tests.support import REGION, Stack, activate, order, shared_session

MONTHLY_DUE = datetime(2027, 2, 28, 5, 0, tzinfo=UTC)  # one monthly term due for each of _renewing's subscriptions


def _renewing(stack: Stack, count: int) -> list[str]:
    """`count` monthly subscriptions activated on 2027-01-28 (renewal 2027-02-28), each with its own admin."""
    stack.clock.moment = datetime(2027, 1, 28, 10, 0, tzinfo=UTC)
    ids = []
    for n in range(count):
        admin = {"email": f"admin{n}@example.fr", "name": f"Admin {n}"}
        sid = jobs.receive_order(
            order(order_id=f"FO-{n}", ordered_at="2027-01-27T08:00:00Z", term_months=1, admin=admin)
        ).subscription_id
        activate(stack, sid, admin["email"])
        ids.append(sid)
    stack.clock.moment = MONTHLY_DUE
    return ids


def _invoice_numbers(stack: Stack, ids: list[str]) -> list[str]:
    return sorted(i.number for sid in ids for i in stack.container.invoices.list_invoices(sid, 50, None)[0])


def _assert_each_renewed_once(stack: Stack, ids: list[str]) -> None:
    for sid in ids:
        assert stack.subscriptions.get_subscription(sid).next_renewal_date == date(2027, 3, 28), sid
        assert len(stack.container.invoices.list_invoices(sid, 50, None)[0]) == 2, sid  # activation + one renewal
    # The activation invoices took 1..n, the renewals n+1..2n: no number twice, none skipped.
    assert _invoice_numbers(stack, ids) == [f"FR-2027-{k:06d}" for k in range(1, 2 * len(ids) + 1)]


def _dead_letters() -> list[dict[str, Any]]:
    sqs = shared_session().client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=WORK.dead_letter_name)["QueueUrl"]
    return list(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []))


def test_a_worker_failing_midway_through_messages_is_retried_and_does_each_item_exactly_once(stack, monkeypatch):
    ids = _renewing(stack, 60)  # one message or more per shard (25 items at most each)
    issuer = stack.container.renewals._issuer
    real_factory, renewals = issuer._unit_of_work, []

    def unit_of_work() -> Any:  # each renewal commits through the issuer's unit of work, with its invoice
        uow = real_factory()
        real_commit = uow.commit

        def fails_sometimes() -> None:
            renewals.append(1)
            if len(renewals) in (5, 31):  # before its commit: the message stops there, its first items are done
                raise RuntimeError("injected: DynamoDB unavailable")
            real_commit()
            if len(renewals) in (12, 50):  # after its commit: done, but the worker dies before it reports
                raise RuntimeError("injected: worker died after the commit")

        uow.commit = fails_sometimes
        return uow

    monkeypatch.setattr(issuer, "_unit_of_work", unit_of_work)
    summary = stack.run_job("process_renewals")

    assert summary["queued"] == 60 and summary["complete"] is True
    assert summary["work_messages"] > summary["messages"] >= 3  # the failed messages came back
    # Counted once each across all deliveries, except the two whose worker died after the commit, before it could
    # count them (the metric is a lower bound); the stored state below is what must be exact.
    assert summary["renewed"] == summary["invoices"] == 58
    _assert_each_renewed_once(stack, ids)
    assert _dead_letters() == []
    stack.clock.advance(minutes=10)
    jobs.run_outbox()  # the emails of the renewals whose worker died after the commit
    invoice_mails = Counter(m["To"] for m in stack.sent() if m["Subject"].startswith("Facture FR-2027-"))
    assert sorted(invoice_mails.values()) == [2] * 60  # each admin: the activation's invoice and one renewal's
    assert stack.run_job("process_renewals")["queued"] == 0


def test_a_whole_batch_lost_is_delivered_again_and_changes_nothing_twice(stack, monkeypatch):
    ids = _renewing(stack, 30)
    crashed: list[int] = []

    def crashes_once_after_doing_the_work(event: dict[str, Any], context: Any) -> Any:
        response = job_worker(event, context)
        if not crashed:  # Lambda timed out after the work: no response, every message of the batch comes back
            crashed.append(len(event["Records"]))
            raise RuntimeError("injected: invocation timed out")
        return response

    consumer = stack.work_consumer()
    monkeypatch.setattr(consumer, "_handler", crashes_once_after_doing_the_work)
    assert stack.container.renewals.dispatch_due(lambda: 900.0).queued == 30
    consumer.drain()

    assert crashed and crashed[0] >= 1  # the first batch was done, lost, and done again
    _assert_each_renewed_once(stack, ids)


def test_workers_racing_on_the_same_messages_do_each_item_once(stack, linearizable):
    ids = _renewing(stack, 40)
    queue = stack.container.work_queue
    items = [{"subscription_id": sid} for sid in ids]
    queue.enqueue(metrics.PROCESS_RENEWALS, items)
    queue.enqueue(metrics.PROCESS_RENEWALS, list(reversed(items)))  # the same items listed by a second, parallel run
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            stack.work_consumer().drain()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _assert_each_renewed_once(stack, ids)


@pytest.fixture
def linearizable() -> None:
    serialize_dynamodb()


def test_a_message_no_worker_can_do_is_dead_lettered_after_five_receives_and_the_rest_is_done(stack, emf):
    ids = _renewing(stack, 3)
    sqs = shared_session().client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=WORK.name)["QueueUrl"]
    for body in ('{"job": "process_renewals", "items": [{"subscription_id": 7}]}', "not json"):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    summary = stack.run_job("process_renewals")
    stack.container.telemetry.flush()

    assert summary["renewed"] == 3
    _assert_each_renewed_once(stack, ids)
    assert sorted(m["Body"] for m in _dead_letters()) == sorted(
        ['{"job": "process_renewals", "items": [{"subscription_id": 7}]}', "not json"]
    )
    # Each refused at every one of its 5 receives.
    assert emf.total(metrics.WORK_MESSAGES_FAILED, job="unknown") == emf.total(
        metrics.WORK_MESSAGES_FAILED, job=metrics.PROCESS_RENEWALS
    ) == 5
    assert emf.total(metrics.SUBSCRIPTIONS_RENEWED) == emf.total(metrics.INVOICES_ISSUED) - 3 == 3


def test_the_queue_gets_25_items_a_message_and_a_refused_message_is_sent_again():
    calls: list[list[dict[str, str]]] = []

    class FlakySqs:
        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
            calls.append(Entries)
            if len(calls) == 1:  # SQS refuses one entry of the first call
                return {"Successful": [], "Failed": [{"Id": Entries[3]["Id"], "SenderFault": False, "Code": "X"}]}
            return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    items = [{"subscription_id": str(n)} for n in range(260)]
    assert SqsWorkQueue(FlakySqs(), "url").enqueue("process_renewals", items) == 11
    assert [len(entries) for entries in calls] == [10, 1, 1]  # 10 messages, the refused one again, then the 11th
    delivered = [json.loads(e["MessageBody"]) for entries in calls[1:] for e in entries] + [
        json.loads(e["MessageBody"]) for e in calls[0] if e["Id"] != calls[0][3]["Id"]
    ]
    assert sorted(int(i["subscription_id"]) for m in delivered for i in m["items"]) == list(range(260))
    assert max(len(m["items"]) for m in delivered) == ITEMS_PER_MESSAGE


def test_a_run_whose_queue_keeps_refusing_stops_and_loses_nothing(stack, monkeypatch):
    ids = _renewing(stack, 3)
    from chalicelib.container import Container

    assert isinstance(stack.container, Container)

    def refused(*_: Any, **__: Any) -> int:
        raise WorkNotQueued("the work queue kept refusing 1 message(s)")

    monkeypatch.setattr(stack.container.work_queue, "enqueue", refused)
    with pytest.raises(WorkNotQueued):
        jobs.run_renewals()  # the function fails: its Errors alarm, and no heartbeat
    monkeypatch.undo()
    assert stack.run_job("process_renewals")["renewed"] == 3  # the next run lists them again
    _assert_each_renewed_once(stack, ids)


def test_a_reminder_whose_page_was_refused_by_the_queue_is_listed_again(stack, monkeypatch):
    jobs.receive_order(order(locale="en-GB"))  # deadline 2027-02-24 09:30
    stack.clock.moment = datetime(2027, 1, 26, 9, 30, tzinfo=UTC)  # 29 days before: the 30-day reminder is due

    def refused(*_: Any, **__: Any) -> int:
        raise WorkNotQueued("the work queue kept refusing 1 message(s)")

    monkeypatch.setattr(stack.container.work_queue, "enqueue", refused)
    with pytest.raises(WorkNotQueued):
        jobs.run_reminders()
    monkeypatch.undo()
    assert stack.run_job("send_reminders")["activation_reminders"] == 1  # listed again from the index
    again = stack.run_job("send_reminders")
    assert again["queued"] == 1 and again.get("activation_reminders", 0) == 0  # listed, its marker says sent


def test_the_local_queues_are_the_ones_the_app_declares():
    from app import app
    from devstack.queues import ORDERS

    declared = {s.name: s for s in app.event_sources if type(s).__name__ == "SQSEventConfig"}
    for function, spec in (("intake_orders", ORDERS), ("job_worker", WORK)):
        assert (declared[function].queue, declared[function].batch_size) == (spec.name, spec.batch_size)


def test_an_item_that_always_fails_holds_back_none_of_its_neighbours(stack, monkeypatch, emf):
    ids = _renewing(stack, 30)
    # The first item of a message that has others after it: a shard's entries are listed by (date, id).
    by_shard: dict[int, list[str]] = {}
    for sid in ids:
        by_shard.setdefault(shard_of(sid), []).append(sid)
    poison = min(max(by_shard.values(), key=len))
    real_renew = Subscription.renew

    def fails_for_one(self: Subscription, *args: Any, **kwargs: Any) -> Any:
        if self.id == poison:
            raise RuntimeError("injected: this subscription's record cannot be renewed")
        return real_renew(self, *args, **kwargs)

    monkeypatch.setattr(Subscription, "renew", fails_for_one)
    summary = stack.run_job("process_renewals")
    stack.container.telemetry.flush()

    others = [sid for sid in ids if sid != poison]
    assert all(stack.subscriptions.get_subscription(sid).next_renewal_date == date(2027, 3, 28) for sid in others)
    assert summary["renewed"] == 29  # each once, although their message came back five times
    assert stack.subscriptions.get_subscription(poison).next_renewal_date == date(2027, 2, 28)
    (dead,) = _dead_letters()  # the poison's message, for the runbook's redrive once the cause is fixed
    assert poison in dead["Body"]
    assert emf.total(metrics.WORK_MESSAGES_FAILED, job=metrics.PROCESS_RENEWALS) == 5
