"""Invariant 6: no state change loses its email; a healthy run sends each email once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from chalicelib import jobs
from chalicelib.services.emails import DELIVERY_GRACE
from chalicelib.services.outbox import Delivery
from tests.support import ORDER, customer, html_part, order, text_part, token_of


class LambdaDied(BaseException):
    """Stands for the runtime killing the function: not an Exception, so nothing in the app may swallow it."""


def _fail_first_sends(monkeypatch, stack, failures: int) -> list[int]:
    client = stack.container.mailer._client
    real = client.send_raw_email
    calls = [0]

    def flaky(**kwargs):
        calls[0] += 1
        if calls[0] <= failures:
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded"}}, "SendRawEmail"
            )
        return real(**kwargs)

    monkeypatch.setattr(client, "send_raw_email", flaky)
    return calls


def _run_outbox_after_grace(stack):
    stack.clock.advance(seconds=DELIVERY_GRACE.total_seconds() + 1)
    return jobs.run_outbox()


def test_healthy_run_sends_once_and_the_job_finds_nothing_left(stack):
    jobs.receive_order(ORDER)
    assert len(stack.sent()) == 1
    assert _run_outbox_after_grace(stack)["sent"] == 0
    assert len(stack.sent()) == 1


def test_ses_failing_for_the_first_sends_loses_no_email(stack, monkeypatch):
    calls = _fail_first_sends(monkeypatch, stack, failures=3)
    result = jobs.receive_order(ORDER)
    assert result.created and stack.sent() == []

    first = _run_outbox_after_grace(stack)  # fails again (2nd call)
    assert first["failed"] == 1 and stack.sent() == []
    stack.clock.advance(minutes=5)
    assert jobs.run_outbox()["failed"] == 1  # 3rd call fails, backoff grows
    stack.clock.advance(minutes=3)
    assert jobs.run_outbox()["sent"] == 0  # still backing off: not due yet
    stack.clock.advance(minutes=10)
    assert jobs.run_outbox()["sent"] == 1
    stack.clock.advance(hours=2)
    assert jobs.run_outbox()["sent"] == 0
    assert len(stack.sent()) == 1 and calls[0] == 4


def test_a_crash_between_the_state_change_and_the_send_loses_no_email(stack, monkeypatch):
    def die(self, emails):
        raise LambdaDied()

    monkeypatch.setattr(Delivery, "deliver_now", die)
    with pytest.raises(LambdaDied):
        jobs.receive_order(ORDER)
    monkeypatch.undo()
    assert stack.sent() == []

    assert jobs.run_outbox()["sent"] == 0  # the request might still be running: the job waits for the grace period
    assert _run_outbox_after_grace(stack)["sent"] == 1
    assert _run_outbox_after_grace(stack)["sent"] == 0
    [mail] = stack.sent()
    assert token_of(mail)


def test_a_crash_after_activation_still_confirms_by_email(stack, client, monkeypatch):
    from tests.test_activation_pages import _accept

    jobs.receive_order(ORDER)
    token = token_of(stack.sent()[0])
    monkeypatch.setattr(Delivery, "deliver_now", lambda self, emails: (_ for _ in ()).throw(LambdaDied()))
    with pytest.raises(LambdaDied):
        _accept(client, token, "FR-fr-2026.1")
    monkeypatch.undo()

    assert _run_outbox_after_grace(stack)["sent"] == 2  # the confirmation and the first invoice
    assert {m["Subject"] for m in stack.sent()[-2:]} == {
        "Votre abonnement à PROFIS Engineering Suite est activé",
        "Facture FR-2026-000001 pour PROFIS Engineering Suite",
    }


def test_the_job_stops_cleanly_when_time_runs_out(stack, monkeypatch):
    _fail_first_sends(monkeypatch, stack, failures=5)
    for n in range(5):
        jobs.receive_order(order(order_id=f"T-{n}", admin={"email": f"a{n}@example.fr", "name": "A"}))
    stack.clock.advance(minutes=3)
    monkeypatch.undo()
    budget = iter([100.0, 100.0, 100.0, 1.0] + [1.0] * 50)
    summary = stack.container.delivery.deliver_due(lambda: next(budget))
    assert summary.complete is False and summary.sent == 2
    assert jobs.run_outbox()["sent"] == 3


def test_emails_have_text_and_html_parts_in_the_subscription_language(stack):
    for n, (country, locale, subject) in enumerate(
        [
            ("DE", "de-DE", "Aktivieren Sie Ihr Abonnement"),
            ("GB", "en-GB", "Activate your subscription"),
            ("FR", "fr-FR", "Activez votre abonnement"),
            ("IT", "it-IT", "Activate your subscription"),
        ]
    ):
        jobs.receive_order(order(order_id=f"L-{n}", country=country, locale=locale))
        mail = stack.sent()[-1]
        assert mail["Subject"].startswith(subject)
        assert text_part(mail) and html_part(mail)
        assert mail.get_content_type() == "multipart/alternative"


def test_links_come_from_the_configured_country_url(stack):
    jobs.receive_order(order(order_id="DE-1", country="DE", locale="de-DE"))
    assert "https://subscriptions.example.com/activate/" in text_part(stack.sent()[-1])
    jobs.receive_order(order(order_id="FR-1"))
    assert "https://abonnements.example.fr/activate/" in text_part(stack.sent()[-1])


def test_customer_values_are_escaped_in_html(stack):
    jobs.receive_order(
        order(
            order_id="X-1",
            customer=customer(id="1", name='<b>Evil</b> & "Co"'),
            product={"code": "P", "name": "<script>x()</script>"},
        )
    )
    mail = stack.sent()[-1]
    html = html_part(mail)
    assert "<b>Evil</b>" not in html and "&lt;b&gt;Evil&lt;/b&gt; &amp; &#34;Co&#34;" in html
    assert "<script>" not in html
    assert '<b>Evil</b> & "Co"' in text_part(mail)


def test_line_breaks_can_reach_neither_names_nor_mail_headers(stack):
    from chalicelib.domain.errors import OrderRejected
    from chalicelib.domain.mail import RenderedEmail

    with pytest.raises(OrderRejected):
        jobs.receive_order(order(product={"code": "P", "name": "Suite\r\nBcc: victim@example.com"}))
    built = stack.container.mailer.build(
        RenderedEmail("a@example.fr", "Hi\r\nBcc: victim@example.com", "t", "<p>h</p>")
    )
    assert built["Bcc"] is None and "\n" not in built["Subject"]


def test_unsent_email_is_retried_until_the_provider_accepts(stack, monkeypatch):
    _fail_first_sends(monkeypatch, stack, failures=10_000)
    jobs.receive_order(ORDER)
    for _ in range(8):
        stack.clock.advance(hours=1, minutes=1)
        assert jobs.run_outbox()["failed"] == 1
    monkeypatch.undo()
    stack.clock.advance(hours=1, minutes=1)
    assert jobs.run_outbox()["sent"] == 1
    assert len(stack.sent()) == 1


def test_grace_is_longer_than_an_api_lambda_can_run():
    assert timedelta(seconds=29) < DELIVERY_GRACE
