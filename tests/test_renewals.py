"""The daily renewal job (DESIGN 14.5) and the ENDED state (section 2): one invoice per term whatever the re-runs,
parallel runs, races and crashes; renewal dates from the activation date without drift."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest

from chalicelib import jobs
from chalicelib.adapters.dynamodb.schema import shard_of
from chalicelib.domain.errors import Conflict, WriteConflict
from chalicelib.domain.models import Person, Subscription
from chalicelib.services.renewals import Renewals
from devstack.moto_lock import serialize_dynamodb
from tests.support import SEAT, activate, as_admin, order, out_of_time_after_first_page, text_part

ZERO = {"renewed": 0, "ended": 0, "invoices": 0, "complete": True}


def _run(stack, budget: float = 900.0, **kwargs):
    """The daily run (it queues what is due) and the workers (they do it): what they did, and whether the run listed
    everything due."""
    summary = stack.run_job("process_renewals", budget, **kwargs)
    return {key: summary.get(key, 0) for key in ("renewed", "ended", "invoices")} | {"complete": summary["complete"]}


def _active(stack, activated_at: datetime, term_months: int = 12, n: int = 0, **changes) -> str:
    """A subscription ordered the day before and activated at `activated_at` (the clock is left there)."""
    stack.clock.moment = activated_at
    ordered = activated_at.replace(hour=8, minute=0).isoformat().replace("+00:00", "Z")
    subscription_id = jobs.receive_order(
        order(
            order_id=f"RN-{n}",
            ordered_at=ordered,
            term_months=term_months,
            locale="en-GB",
            admin={"email": f"admin{n}@example.fr", "name": f"Admin {n}"},
            **changes,
        )
    ).subscription_id
    activate(stack, subscription_id, f"admin{n}@example.fr")
    return subscription_id


def _invoices(stack, subscription_id: str):
    items, _ = stack.container.invoices.list_invoices(subscription_id, 50, None)
    return sorted(items, key=lambda i: i.period.start)


def _periods(stack, subscription_id: str) -> list[tuple[str, str]]:
    return [(i.period.start.isoformat(), i.period.end.isoformat()) for i in _invoices(stack, subscription_id)]


def _sub(stack, subscription_id: str):
    return stack.subscriptions.get_subscription(subscription_id)


def _cancel(stack, subscription_id: str, n: int = 0) -> None:
    c = stack.container
    c.administration.set_cancellation(as_admin(c, f"admin{n}@example.fr", subscription_id), True)


def test_renewal_issues_the_next_terms_invoice_and_moves_the_date_on(stack):
    sid = _active(stack, datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    stack.clock.moment = datetime(2027, 11, 25, 23, 0, tzinfo=UTC)
    assert _run(stack) == ZERO  # the day before: nothing due
    stack.clock.moment = datetime(2027, 11, 26, 6, 0, tzinfo=UTC)
    assert _run(stack) == {"renewed": 1, "ended": 0, "invoices": 1, "complete": True}

    initial, renewal = _invoices(stack, sid)
    assert (initial.kind, initial.number) == ("initial", "FR-2026-000001")
    assert (renewal.kind, renewal.number) == ("renewal", "FR-2027-000001")  # a new calendar year, a new series
    assert (renewal.period.start, renewal.period.end) == (date(2027, 11, 26), date(2028, 11, 25))
    assert renewal.issue_date == date(2027, 11, 26) and str(renewal.total_amount) == "2700.00"
    assert _sub(stack, sid).next_renewal_date == date(2028, 11, 26)
    mails = [m for m in stack.mails_to("admin0@example.fr") if "FR-2027-000001" in m["Subject"] + text_part(m)]
    assert len(mails) == 1
    assert _run(stack) == ZERO  # a re-run changes nothing


def test_cancelled_subscription_ends_on_its_renewal_date_without_an_invoice(stack, client):
    sid = _active(stack, datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    _cancel(stack, sid)
    c = stack.container
    c.administration.assign_seat(as_admin(c, "admin0@example.fr", sid), Person(email=SEAT, name="Sam Seat"))
    stack.clock.moment = datetime(2027, 11, 27, 6, 0, tzinfo=UTC)  # a day late: ended_on is still the renewal date

    assert _run(stack) == {"renewed": 0, "ended": 1, "invoices": 0, "complete": True}
    ended = _sub(stack, sid)
    assert ended.status.value == "ended" and ended.ended_on == date(2027, 11, 26)
    assert ended.next_renewal_date is None
    assert len(_invoices(stack, sid)) == 1
    (mail,) = [m for m in stack.mails_to("admin0@example.fr") if "has ended" in m["Subject"]]
    assert "ended on" in text_part(mail)
    assert _run(stack) == ZERO

    admin = stack.issuer.bearer("admin0@example.fr", "FR")
    detail = client.http.get(f"/subscriptions/{sid}", headers=admin)
    assert detail.status_code == 200
    body = json.loads(detail.body)
    assert (body["status"], body["ended_on"], body["next_renewal_date"]) == ("ended", "2027-11-26", None)
    for path in ("history", "agreement"):
        assert client.http.get(f"/subscriptions/{sid}/{path}", headers=admin).status_code == 200, path
    for method, path, payload in (
        ("PATCH", "", {"po_number": "PO-1"}),
        ("POST", "/users", {"email": "x@example.fr", "name": "X"}),
        ("DELETE", "/cancellation", None),
        ("PUT", "/payment-method", {"type": "invoice"}),
    ):
        response = getattr(client.http, method.lower())(
            f"/subscriptions/{sid}{path}",
            headers={**admin, "Content-Type": "application/json"},
            **({"body": json.dumps(payload)} if payload is not None else {}),
        )
        assert response.status_code == 409, (method, path, response.body)
        assert "ended" in json.loads(response.body)["Message"]
    seat = stack.issuer.bearer(SEAT, "FR")
    assert json.loads(client.http.get("/me/entitlements", headers=seat).body)["items"] == []


def test_month_end_anchor_does_not_drift(stack):
    sid = _active(stack, datetime(2027, 1, 31, 10, 0, tzinfo=UTC), term_months=1)
    assert _sub(stack, sid).next_renewal_date == date(2027, 2, 28)
    for day, following in ((date(2027, 2, 28), date(2027, 3, 31)), (date(2027, 3, 31), date(2027, 4, 30))):
        stack.clock.moment = datetime(day.year, day.month, day.day, 5, 0, tzinfo=UTC)
        assert _run(stack)["invoices"] == 1
        assert _sub(stack, sid).next_renewal_date == following
    assert _periods(stack, sid) == [
        ("2027-01-31", "2027-02-27"),
        ("2027-02-28", "2027-03-30"),
        ("2027-03-31", "2027-04-29"),
    ]


def test_three_terms_behind_are_caught_up_in_one_run_one_invoice_each(stack):
    sid = _active(stack, datetime(2027, 1, 31, 10, 0, tzinfo=UTC), term_months=1)
    stack.clock.moment = datetime(2027, 5, 1, 5, 0, tzinfo=UTC)  # the job was down since February
    assert _run(stack) == {"renewed": 1, "ended": 0, "invoices": 3, "complete": True}
    assert [i.number for i in _invoices(stack, sid)] == [f"FR-2027-{n:06d}" for n in range(1, 5)]
    assert _periods(stack, sid)[1:] == [
        ("2027-02-28", "2027-03-30"),
        ("2027-03-31", "2027-04-29"),
        ("2027-04-30", "2027-05-30"),
    ]
    assert all(i.issue_date == date(2027, 5, 1) for i in _invoices(stack, sid)[1:])  # the run's date
    assert _sub(stack, sid).next_renewal_date == date(2027, 5, 31)
    assert _run(stack) == ZERO


def test_only_due_subscriptions_are_touched(stack):
    due = _active(stack, datetime(2026, 11, 26, 10, 0, tzinfo=UTC), n=1)
    later = _active(stack, datetime(2026, 12, 20, 10, 0, tzinfo=UTC), n=2)
    stack.clock.moment = datetime(2027, 11, 30, 5, 0, tzinfo=UTC)
    pending = jobs.receive_order(order(order_id="RN-P", ordered_at="2027-11-20T08:00:00Z")).subscription_id
    assert _run(stack) == {"renewed": 1, "ended": 0, "invoices": 1, "complete": True}
    assert len(_invoices(stack, due)) == 2 and len(_invoices(stack, later)) == 1
    assert _sub(stack, pending).status.value == "pending_activation"


@pytest.fixture
def linearizable():
    serialize_dynamodb()


def test_parallel_runs_renew_each_term_once_with_consecutive_numbers(stack, linearizable):
    ids = [_active(stack, datetime(2027, 1, 31, 10, 0, tzinfo=UTC), term_months=1, n=n) for n in range(4)]
    stack.clock.moment = datetime(2027, 4, 1, 5, 0, tzinfo=UTC)  # two terms due for each
    barrier = threading.Barrier(3)

    def run(_: int):
        barrier.wait()
        return _run(stack)

    with ThreadPoolExecutor(max_workers=3) as pool:
        summaries = list(pool.map(run, range(3)))
    assert sum(s["invoices"] for s in summaries) == 8, summaries
    for sid in ids:
        assert len(_invoices(stack, sid)) == 3
        assert _sub(stack, sid).next_renewal_date == date(2027, 4, 30)
    numbers = sorted(i.number for sid in ids for i in _invoices(stack, sid))
    assert numbers == [f"FR-2027-{n:06d}" for n in range(1, 13)]


@pytest.mark.parametrize("attempt", range(6))
def test_renewal_racing_cancellation_either_renews_or_ends_never_both(stack, linearizable, attempt):
    sid = _active(stack, datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    stack.clock.moment = datetime(2027, 11, 26, 0, 0, tzinfo=UTC)
    c = stack.container
    admin = as_admin(c, "admin0@example.fr", sid)
    barrier = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def cancel() -> None:
        barrier.wait()
        try:
            c.administration.set_cancellation(admin, True)
            outcome["cancelled"] = True
        except (Conflict, WriteConflict):
            outcome["cancelled"] = False  # lost to the renewal: the portal says to try again

    def renew() -> None:
        barrier.wait()
        outcome["summary"] = _run(stack)

    threads = [threading.Thread(target=cancel), threading.Thread(target=renew)]
    if attempt % 2:
        threads.reverse()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _run(stack)  # whatever the first run saw, the next one settles the day
    final = _sub(stack, sid)
    invoices = _invoices(stack, sid)
    if final.status.value == "ended":
        assert len(invoices) == 1 and final.ended_on == date(2027, 11, 26)
    else:
        assert final.status.value == "active" and len(invoices) == 2
        assert final.next_renewal_date == date(2028, 11, 26)
        assert final.cancel_at_renewal is bool(outcome.get("cancelled"))  # applies to the next renewal


def test_a_run_out_of_time_or_a_worker_crashing_mid_way_is_completed_without_duplicates(stack, monkeypatch):
    ids = [_active(stack, datetime(2027, 1, 31, 10, 0, tzinfo=UTC), term_months=1, n=n) for n in range(5)]
    stack.clock.moment = datetime(2027, 4, 1, 5, 0, tzinfo=UTC)
    assert _run(stack, budget=0) == {"renewed": 0, "ended": 0, "invoices": 0, "complete": False}

    partial = stack.run_job("process_renewals", out_of_time_after_first_page(stack, monkeypatch), page_size=1)
    assert partial["complete"] is False and 0 < partial["queued"] < 5 and 0 < partial["invoices"] < 10

    real_renew, calls = Subscription.renew, []

    def crash_on_third(*args, **kwargs):  # a worker fails after some commits: its message is delivered again
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("injected: worker failed")
        return real_renew(*args, **kwargs)

    monkeypatch.setattr(Subscription, "renew", crash_on_third)
    rest = _run(stack, page_size=2)
    assert rest["complete"] is True
    for sid in ids:
        assert len(_invoices(stack, sid)) == 3, sid
        assert _sub(stack, sid).next_renewal_date == date(2027, 4, 30)
    numbers = sorted(i.number for sid in ids for i in _invoices(stack, sid))
    assert numbers == [f"FR-2027-{n:06d}" for n in range(1, 16)]  # no gap: a failed issuance consumed no number
    assert _run(stack) == ZERO


def test_the_job_reads_the_renewal_index_up_to_today_only(stack):
    sid = _active(stack, datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    store = stack.container.renewal_store
    shard = shard_of(sid)
    assert store.due(shard, date(2027, 11, 25), 10, None) == ([], None)
    assert store.due(shard, date(2027, 11, 26), 10, None) == ([sid], None)
    others = [other for other in store.shards() if other != shard]
    assert all(store.due(other, date(2027, 11, 26), 10, None) == ([], None) for other in others)
    assert isinstance(stack.container.renewals, Renewals)
