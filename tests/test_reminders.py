"""The daily reminders (DESIGN 14.6): activation reminders 30 and 7 days before the deadline, renewal reminders 30
days before the renewal date; each once, never after activation or the deadline, with a working link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from chalicelib import jobs
from chalicelib.services.identity import RequestContext
from tests.support import ADMIN, activate, as_admin, order, out_of_time_after_first_page, text_part, token_of

DEADLINE = datetime(2027, 2, 24, 9, 30, tzinfo=UTC)  # the sample order's: ordered 2026-11-26T09:30Z + 90 days
RENEWS_ON = datetime(2027, 11, 26, 10, 0, tzinfo=UTC)  # activated at NOW (2026-11-26 10:00Z), 12-month term


def _run(stack, budget=900.0, **kwargs):
    """The daily run (it queues what its ranges list) and the workers (they send): what was sent, and whether the run
    listed everything due."""
    summary = stack.run_job("send_reminders", budget, **kwargs)
    sent = {key: summary.get(key, 0) for key in ("activation_reminders", "renewal_reminders")}
    return sent | {"complete": summary["complete"]}


def _pending(stack, **changes) -> str:
    return jobs.receive_order(order(locale="en-GB", **changes)).subscription_id


def _reminders(stack, kind_subject: str) -> list:
    return [m for m in stack.mails_to(ADMIN) if kind_subject in m["Subject"]]


def test_activation_reminders_at_30_then_7_days_each_once(stack, client):
    _pending(stack)
    assert _run(stack) == {"activation_reminders": 0, "renewal_reminders": 0, "complete": True}

    stack.clock.moment = DEADLINE - timedelta(days=30) - timedelta(hours=1)  # not yet 30 days left
    assert _run(stack)["activation_reminders"] == 0
    stack.clock.moment = DEADLINE - timedelta(days=30) + timedelta(hours=1)
    assert _run(stack)["activation_reminders"] == 1
    assert _run(stack)["activation_reminders"] == 0  # same day again: nothing twice
    stack.clock.advance(days=1)
    assert _run(stack)["activation_reminders"] == 0

    stack.clock.moment = DEADLINE - timedelta(days=7) + timedelta(hours=1)
    assert _run(stack)["activation_reminders"] == 1
    stack.clock.advance(days=3)
    assert _run(stack)["activation_reminders"] == 0
    stack.clock.moment = DEADLINE + timedelta(hours=1)
    assert _run(stack)["activation_reminders"] == 0  # never after the deadline

    reminders = _reminders(stack, "Reminder")
    assert len(reminders) == 2
    assert "within 30 day(s)" in reminders[0]["Subject"] and "within 7 day(s)" in reminders[1]["Subject"]


def test_the_reminder_carries_the_same_working_link_as_the_email_before(stack, client):
    _pending(stack)
    first_link = token_of(stack.mails_to(ADMIN)[0])
    stack.clock.moment = DEADLINE - timedelta(days=30) + timedelta(hours=1)
    _run(stack)
    (reminder,) = _reminders(stack, "Reminder")
    assert token_of(reminder) == first_link
    assert "/activate/" in text_part(reminder)
    page = client.http.get(f"/activate/{first_link}")
    assert page.status_code == 200 and b"Activate" in page.body


def test_after_a_resend_the_reminder_carries_the_new_link_and_the_old_one_is_dead(stack, client):
    subscription_id = _pending(stack)
    old = token_of(stack.mails_to(ADMIN)[0])
    c = stack.container
    c.activation.resend_activation_email(as_admin(c, ADMIN, subscription_id, active=False))
    new = token_of(stack.mails_to(ADMIN)[-1])
    stack.clock.moment = DEADLINE - timedelta(days=29)
    _run(stack)
    (reminder,) = _reminders(stack, "Reminder")
    assert token_of(reminder) == new != old
    assert client.http.get(f"/activate/{new}").status_code == 200
    assert client.http.get(f"/activate/{old}").status_code == 404


def test_no_reminder_once_activated(stack):
    subscription_id = _pending(stack)
    activate(stack, subscription_id)
    for days_left in (29, 6):
        stack.clock.moment = DEADLINE - timedelta(days=days_left)
        assert _run(stack)["activation_reminders"] == 0
    assert _reminders(stack, "Reminder") == []


def test_activation_racing_the_reminder_wins_and_no_reminder_goes_out(stack, monkeypatch):
    subscription_id = _pending(stack)
    stack.clock.moment = DEADLINE - timedelta(days=29)
    store = stack.container.reminder_store
    real_get = store.get_subscription

    def read_then_activate(sid):  # the admin activates between the job's read and its write
        seen = real_get(sid)
        if seen is not None and seen.status.value == "pending_activation":
            c = stack.container
            c.activation.activate_in_portal(
                as_admin(c, ADMIN, sid, active=False), accepted=True, agreement_version="FR-fr-2026.1",
                context=RequestContext("1.1.1.1", "test"),
            )  # fmt: skip
        return seen

    monkeypatch.setattr(store, "get_subscription", read_then_activate)
    assert _run(stack)["activation_reminders"] == 0
    assert stack.subscriptions.get_subscription(subscription_id).status.value == "active"
    assert _reminders(stack, "Reminder") == []


def test_a_30_day_reminder_done_late_by_a_redrive_gives_way_to_the_7_day_one(stack):
    _pending(stack)
    stack.clock.moment = DEADLINE - timedelta(days=29)
    assert stack.container.reminders.dispatch_due(lambda: 900.0).queued == 1  # queued, then the worker was down
    stack.clock.moment = DEADLINE - timedelta(days=6)  # the message is redriven three weeks later
    late = stack.run_job("send_reminders")  # the 7-day range, and the 30-day item from the queue
    assert late["activation_reminders"] == 1
    (reminder,) = _reminders(stack, "Reminder")
    assert "within 6 day(s)" in reminder["Subject"]


def test_a_job_that_was_down_sends_only_the_latest_threshold(stack):
    _pending(stack)
    stack.clock.moment = DEADLINE - timedelta(days=5)  # never ran between 30 and 7 days before
    assert _run(stack)["activation_reminders"] == 1
    assert _run(stack)["activation_reminders"] == 0
    (reminder,) = _reminders(stack, "Reminder")
    assert "within 5 day(s)" in reminder["Subject"]


def test_many_pending_in_pages_and_a_run_out_of_time_is_completed_by_the_next(stack, monkeypatch):
    for n in range(7):
        _pending(stack, order_id=f"R-{n}", admin={"email": f"admin{n}@example.fr", "name": f"Admin {n}"})
    stack.clock.moment = DEADLINE - timedelta(days=29)
    stopped = _run(stack, 0)
    assert stopped == {"activation_reminders": 0, "renewal_reminders": 0, "complete": False}
    partial = _run(stack, out_of_time_after_first_page(stack, monkeypatch), page_size=1)
    assert partial["complete"] is False and 0 < partial["activation_reminders"] < 7
    rest = _run(stack, page_size=2)
    assert rest["complete"] is True
    assert partial["activation_reminders"] + rest["activation_reminders"] == 7
    assert _run(stack)["activation_reminders"] == 0
    sent = [m["To"] for m in stack.sent() if "Reminder" in m["Subject"]]
    assert sorted(sent) == sorted(f"admin{n}@example.fr" for n in range(7))


def _active(stack) -> str:
    subscription_id = _pending(stack)
    activate(stack, subscription_id)
    return subscription_id


def test_renewal_reminder_30_days_before_with_the_total_once_per_term(stack):
    _active(stack)
    stack.clock.moment = RENEWS_ON - timedelta(days=31)
    assert _run(stack)["renewal_reminders"] == 0
    stack.clock.moment = RENEWS_ON - timedelta(days=30)
    assert _run(stack)["renewal_reminders"] == 1
    stack.clock.advance(days=2)
    assert _run(stack)["renewal_reminders"] == 0
    (reminder,) = _reminders(stack, "renews on")
    text = text_part(reminder)
    assert re.search(r"2[ ,.]?700[.,]00", text), text  # 5 x 450.00 EUR + 20 % VAT (FR)
    assert "EUR" in text and "cancel" in text
    assert "2027" in reminder["Subject"] and "26" in reminder["Subject"]


def test_renewal_reminder_says_it_ends_when_cancellation_is_set(stack):
    subscription_id = _active(stack)
    c = stack.container
    c.administration.set_cancellation(as_admin(c, ADMIN, subscription_id), True)
    stack.clock.moment = RENEWS_ON - timedelta(days=20)
    assert _run(stack)["renewal_reminders"] == 1
    assert _reminders(stack, "renews on") == []
    (ending,) = _reminders(stack, "ends on")
    assert "nothing more is invoiced" in text_part(ending)


def _lose_the_queued_work(stack) -> None:
    """The work messages go to the dead-letter queue (or are lost): no worker ever does them."""
    from devstack.queues import WORK, take_all
    from tests.support import REGION, shared_session

    take_all(shared_session().client("sqs", region_name=REGION), WORK)


def test_a_reminder_whose_work_message_was_lost_is_sent_by_the_next_run(stack):
    _pending(stack)
    stack.clock.moment = DEADLINE - timedelta(days=29)
    assert stack.container.reminders.dispatch_due(lambda: 900.0).queued == 1
    _lose_the_queued_work(stack)
    stack.clock.advance(days=1)
    assert _run(stack)["activation_reminders"] == 1
    assert _run(stack)["activation_reminders"] == 0
    assert len(_reminders(stack, "Reminder")) == 1


def test_a_lost_renewal_reminder_is_sent_by_the_next_run(stack):
    _active(stack)
    stack.clock.moment = RENEWS_ON - timedelta(days=30)
    assert stack.container.reminders.dispatch_due(lambda: 900.0).queued == 1
    _lose_the_queued_work(stack)
    stack.clock.advance(days=1)
    assert _run(stack)["renewal_reminders"] == 1
    assert _run(stack)["renewal_reminders"] == 0
    assert len(_reminders(stack, "renews on")) == 1


def test_the_clock_forward_back_and_forward_again_sends_each_due_reminder_once(stack):
    stack.clock.moment = DEADLINE - timedelta(days=3)  # the local clock set far ahead, a run there
    assert _run(stack)["activation_reminders"] == 0
    stack.clock.moment = DEADLINE - timedelta(days=60)  # back to the present; the order arrives
    _pending(stack)
    assert _run(stack)["activation_reminders"] == 0
    stack.clock.moment = DEADLINE - timedelta(days=29)  # forward again: the 30-day reminder is due
    assert _run(stack)["activation_reminders"] == 1
    assert _run(stack)["activation_reminders"] == 0
    stack.clock.moment = DEADLINE - timedelta(days=6)
    assert _run(stack)["activation_reminders"] == 1
    assert _run(stack)["activation_reminders"] == 0
    reminders = _reminders(stack, "Reminder")
    assert len(reminders) == 2
    assert "within 29 day(s)" in reminders[0]["Subject"] and "within 6 day(s)" in reminders[1]["Subject"]


def test_a_healthy_run_sends_each_reminder_once_and_a_rerun_none(stack):
    for n in range(3):
        _pending(stack, order_id=f"H-{n}", admin={"email": f"h{n}@example.fr", "name": f"H {n}"})
    stack.clock.moment = DEADLINE - timedelta(days=29)
    assert _run(stack, page_size=2)["activation_reminders"] == 3
    assert _run(stack, page_size=2)["activation_reminders"] == 0
    stack.clock.advance(days=1)
    assert _run(stack)["activation_reminders"] == 0


def test_renewal_reminder_announces_the_total_the_renewal_then_invoices_reverse_charge_included(stack):
    customer = {
        "id": "BE-77",
        "name": "Bouw NV",
        "vat_id": "BE 0123.456.789",
        "address": {"lines": ["Rue de la Loi 16"], "postal_code": "1000", "city": "Bruxelles", "country": "BE"},
    }
    subscription_id = _pending(stack, order_id="RC-1", customer=customer)
    activate(stack, subscription_id)
    stack.clock.moment = RENEWS_ON - timedelta(days=30)
    assert _run(stack)["renewal_reminders"] == 1
    (reminder,) = _reminders(stack, "renews on")
    assert re.search(r"2[ ,.]?250[.,]00", text_part(reminder)), text_part(reminder)  # no VAT: reverse charge

    stack.clock.moment = RENEWS_ON
    stack.run_job("process_renewals", 900.0)
    renewal = stack.container.invoice_issuer.invoice_for_term(subscription_id, RENEWS_ON.date())
    assert renewal is not None and str(renewal.total_amount) == "2250.00" and renewal.reverse_charge


def test_renewal_reminder_announces_the_vat_treatment_the_renewal_invoice_states(stack):
    """DESIGN 15.3: one VAT decision for the invoice and the reminder; a French seller's Swiss business buyer is told
    it pays no French VAT, with the mention the renewal invoice then carries."""
    customer = {
        "id": "CH-12",
        "name": "Bau Zürich AG",
        "vat_id": "CHE-116.281.710",
        "address": {"lines": ["Bahnhofstrasse 1"], "postal_code": "8001", "city": "Zürich", "country": "CH"},
    }
    subscription_id = _pending(stack, order_id="O-CH-1", customer=customer)
    activate(stack, subscription_id)
    stack.clock.moment = RENEWS_ON - timedelta(days=30)
    assert _run(stack)["renewal_reminders"] == 1
    (reminder,) = _reminders(stack, "renews on")
    text = " ".join(text_part(reminder).split())
    assert "2,250.00 EUR, including VAT of 0.00 EUR" in text, text
    assert "Not subject to French VAT (Article 259-1 of the French General Tax Code)" in text

    stack.clock.moment = RENEWS_ON
    stack.run_job("process_renewals", 900.0)
    renewal = stack.container.invoice_issuer.invoice_for_term(subscription_id, RENEWS_ON.date())
    assert renewal is not None and str(renewal.total_amount) == "2250.00"
    [entry] = renewal.tax_breakdown
    assert entry.category == "O" and entry.exemption is not None and entry.exemption.text in text
