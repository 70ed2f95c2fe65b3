"""The outbox delivers messages of any channel through that channel's dispatcher and retry policy; emails keep the
stored shape and the delivery they had, and items written before there were channels are still delivered."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from chalicelib import jobs
from chalicelib.adapters.dynamodb import outbox_items, schema
from chalicelib.adapters.dynamodb.unit_of_work import put_new, queue_message
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.outbox import EMAIL_CHANNEL, OutboxMessage
from chalicelib.services.emails import DELIVERY_GRACE
from chalicelib.services.outbox import Delivery
from chalicelib.services.ports.outbox import ChannelPolicy
from tests.support import ORDER, token_of

PAGER = ChannelPolicy(
    noun="page",
    sent_metric="PagesSent",
    failed_metric="PagesFailed",
    retried_metric="PagesRetried",
    lease=timedelta(minutes=2),
    first_backoff=timedelta(minutes=10),  # 20, 40 -> capped at 30 minutes: nothing like the email's 2, 4, 8
    max_backoff=timedelta(minutes=30),
)


class PagerChannel:
    """A second channel for this test: it fails its first `failures` dispatches and records what it was given."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.dispatched: list[OutboxMessage] = []

    @property
    def policy(self) -> ChannelPolicy:
        return PAGER

    def dispatch(self, message: OutboxMessage) -> str:
        self.dispatched.append(message)
        if len(self.dispatched) <= self.failures:
            raise ConnectionError("pager gateway down")
        return f"page-{len(self.dispatched)}"

    def log_keys(self, message: OutboxMessage) -> dict[str, str]:
        return {"mail_id": message.message_id, "mail_kind": message.kind}


class Counting:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def count(self, metric: str, value: float = 1, **dimensions: str) -> None:
        self.counts[metric] += int(value)

    def seconds(self, metric: str, value: float, **dimensions: str) -> None:
        return None


def _with_pager(stack, pager: PagerChannel, telemetry: Counting) -> Delivery:
    container = stack.container
    delivery = Delivery(container.outbox, {**container.outbox_channels, "pager": pager}, container.clock, telemetry)
    container.__dict__["delivery"] = delivery  # the jobs now run the outbox with the pager registered
    return delivery


def _item(stack, message_id: str) -> dict:
    return stack.container.table.get(schema.mail_key(message_id))


def test_a_message_on_a_second_channel_is_claimed_retried_with_its_own_backoff_and_marked_sent(stack):
    pager, telemetry = PagerChannel(failures=2), Counting()
    _with_pager(stack, pager, telemetry)
    page = OutboxMessage("page-1", "pager", "on_call", {"text": "disk full"}, due_at=stack.clock.now())
    stack.container.table.unit_of_work().add(queue_message(page)).commit()

    stored = _item(stack, "page-1")
    assert stored["channel"] == "pager" and stored["payload"] == {"text": "disk full"} and "to" not in stored

    assert jobs.run_outbox()["failed"] == 1  # 1st try: the next in 10 min * 2
    assert _item(stack, "page-1")["attempts"] == 1
    stack.clock.advance(minutes=19)
    assert jobs.run_outbox()["failed"] == 0 and len(pager.dispatched) == 1  # still backing off
    stack.clock.advance(minutes=2)
    assert jobs.run_outbox()["failed"] == 1  # 2nd try: the next in 40 min, capped at 30
    stack.clock.advance(minutes=29)
    assert jobs.run_outbox()["sent"] == 0 and len(pager.dispatched) == 2
    stack.clock.advance(minutes=2)
    assert jobs.run_outbox()["sent"] == 1
    stack.clock.advance(hours=2)
    assert jobs.run_outbox()["sent"] == 0

    assert [m.message_id for m in pager.dispatched] == ["page-1"] * 3
    assert [m.payload for m in pager.dispatched] == [{"text": "disk full"}] * 3
    done = _item(stack, "page-1")
    assert done["status"] == "sent" and done["provider_message_id"] == "page-3" and "OBSK" not in done
    assert telemetry.counts == Counter({"PagesRetried": 3, "PagesFailed": 2, "PagesSent": 1})
    assert stack.sent() == []  # the email channel was never asked


def test_a_second_channel_claims_with_its_own_lease(stack):
    pager, telemetry = PagerChannel(failures=0), Counting()
    delivery = _with_pager(stack, pager, telemetry)
    page = OutboxMessage("page-2", "pager", "on_call", {"text": "x"}, due_at=stack.clock.now())
    stack.container.table.unit_of_work().add(queue_message(page)).commit()

    claimed = stack.container.outbox.claim(page, stack.clock.now() + PAGER.lease)
    assert claimed is not None and claimed.due_at == stack.clock.now() + timedelta(minutes=2)
    assert delivery.deliver_due(lambda: 100.0).sent == 0  # leased: not due again before the lease ends
    stack.clock.advance(minutes=2, seconds=1)
    assert delivery.deliver_due(lambda: 100.0).sent == 1 and len(pager.dispatched) == 1


def test_emails_are_delivered_beside_another_channel_with_the_email_metrics(stack):
    pager, telemetry = PagerChannel(failures=0), Counting()
    _with_pager(stack, pager, telemetry)
    stack.container.table.unit_of_work().add(
        queue_message(OutboxMessage("page-3", "pager", "on_call", {}, due_at=stack.clock.now()))
    ).commit()

    jobs.receive_order(ORDER)  # its email goes at once, through the email channel
    [mail] = stack.sent()
    assert token_of(mail)
    assert _item(stack, "page-3")["status"] == "queued"
    stack.clock.advance(seconds=DELIVERY_GRACE.total_seconds() + 1)
    assert jobs.run_outbox()["sent"] == 1 and len(stack.sent()) == 1  # the page; the email is not sent twice
    assert telemetry.counts["EmailsSent"] == 1 and telemetry.counts["PagesSent"] == 1


def test_an_email_stored_before_there_were_channels_is_still_delivered(stack, monkeypatch):
    monkeypatch.setattr(Delivery, "deliver_now", lambda self, messages: None)  # leave the email in the outbox
    jobs.receive_order(ORDER)
    monkeypatch.undo()
    [queued] = stack.container.outbox.due_messages(stack.clock.now() + timedelta(days=1), 10)
    old_item = _item(stack, queued.message_id)
    assert old_item["channel"] == EMAIL_CHANNEL
    # rewritten as the code before channels wrote it: the same attributes, without `channel`
    stack.container.table.delete(schema.mail_key(queued.message_id))
    legacy = {k: v for k, v in outbox_items.mail_item(OutgoingEmail.from_message(queued)).items() if k != "channel"}
    assert set(legacy) == set(old_item) - {"channel"}
    stack.container.table.unit_of_work().add(put_new("email", legacy)).commit()

    stack.clock.advance(seconds=DELIVERY_GRACE.total_seconds() + 1)
    assert jobs.run_outbox()["sent"] == 1
    [mail] = stack.sent()
    assert token_of(mail) and mail["To"] == queued.payload["to"]
    assert _item(stack, queued.message_id)["status"] == "sent"


def test_a_use_case_unit_of_work_queues_a_message_of_any_channel_with_its_emails(stack):
    pager, telemetry = PagerChannel(failures=0), Counting()
    delivery = _with_pager(stack, pager, telemetry)
    now = stack.clock.now()
    email = OutgoingEmail("mail-9", "order_received", "a@example.fr", "fr", "FR", {}, due_at=now)
    page = OutboxMessage("page-9", "pager", "on_call", {"text": "y"}, due_at=now)
    work = stack.container.unit_of_work()
    work.queue([email, page])
    work.commit()

    assert _item(stack, "mail-9")["channel"] == EMAIL_CHANNEL and _item(stack, "mail-9")["to"] == "a@example.fr"
    assert _item(stack, "page-9")["payload"] == {"text": "y"}
    assert {m.message_id: m.channel for m in stack.container.outbox.due_messages(now, 10)} == {
        "mail-9": EMAIL_CHANNEL,
        "page-9": "pager",
    }
    delivery.deliver_now([page])
    assert [m.message_id for m in pager.dispatched] == ["page-9"] and _item(stack, "page-9")["status"] == "sent"
