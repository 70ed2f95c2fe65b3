"""The billing routes (DESIGN 14.4), the invoice email's attachment (14.2) and the API's cold path (14.7)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chalicelib import jobs
from tests.support import ADMIN, ORDER, SEAT, activate, order

PDF_HEADERS = {"Accept": "application/pdf"}
ROOT = Path(__file__).resolve().parents[1]


def _get(client, stack, path, email=ADMIN, country="FR", **headers):
    return client.http.get(path, headers={**stack.issuer.bearer(email, country), **headers})


def _json(response):
    return json.loads(response.body)


def _pdf_bytes(response) -> bytes:
    body = response.body
    return body if isinstance(body, bytes) and body.startswith(b"%PDF") else base64.b64decode(body)


def _first_invoice(client, stack, subscription_id):
    response = _get(client, stack, f"/subscriptions/{subscription_id}/invoices")
    assert response.status_code == 200, response.body
    return _json(response)["items"][0]


def _invoice_mail(stack):
    [mail] = [m for m in stack.mails_to(ADMIN) if m["Subject"].startswith("Facture ")]
    return mail


def test_the_admin_lists_and_reads_the_invoice(stack, client, active):
    listed = _get(client, stack, f"/subscriptions/{active}/invoices")
    assert listed.status_code == 200
    body = _json(listed)
    assert body["next_cursor"] is None and len(body["items"]) == 1
    invoice = body["items"][0]
    assert invoice["number"] == "FR-2026-000001" and invoice["total_amount"] == "2700.00"
    assert invoice["period"] == {"start": "2026-11-26", "end": "2027-11-25"}
    assert set(invoice) == {
        "id", "number", "subscription_id", "order_id", "kind", "issue_date", "issued_at", "due_date", "period",
        "seller", "buyer", "po_number", "lines", "currency", "net_amount", "tax_rate", "tax_amount", "total_amount",
        "payment_method", "type", "tax_breakdown", "corrects", "replaces", "corrected_by", "tax_currency",
    }  # fmt: skip
    assert (invoice["type"], invoice["corrects"], invoice["replaces"], invoice["corrected_by"]) == (
        "invoice", None, None, None
    )
    assert invoice["tax_breakdown"] == [
        {"category": "S", "rate": "20.00", "taxable_amount": "2250.00", "tax_amount": "450.00",
         "exemption_reason": None}
    ]  # fmt: skip
    [line] = invoice["lines"]
    assert (line["period"], line["tax_category"], line["tax_rate"]) == (invoice["period"], "S", "20.00")

    detail = _get(client, stack, f"/subscriptions/{active}/invoices/{invoice['id']}")
    assert detail.status_code == 200 and _json(detail) == invoice
    assert detail.headers["Cache-Control"] == "no-store"


def test_a_pending_subscription_has_no_invoices(stack, client, pending):
    response = _get(client, stack, f"/subscriptions/{pending}/invoices")
    assert response.status_code == 200 and _json(response) == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("suffix", ["", "/{invoice_id}", "/{invoice_id}/pdf", "/{invoice_id}/xml"])
def test_who_may_read_invoices(stack, client, active, suffix):
    invoice_id = _first_invoice(client, stack, active)["id"]
    path = f"/subscriptions/{active}/invoices" + suffix.format(invoice_id=invoice_id)

    assert _get(client, stack, path, **PDF_HEADERS).status_code == 200
    seat = _get(client, stack, path, email=SEAT, **PDF_HEADERS)
    assert seat.status_code == 403 and _json(seat)["Code"] == "ForbiddenError"
    assert _get(client, stack, path, email="stranger@example.fr", **PDF_HEADERS).status_code == 404
    assert _get(client, stack, path, country="DE", **PDF_HEADERS).status_code == 404  # the admin, signed in for DE
    assert client.http.get(path).status_code == 401


def test_another_subscriptions_invoice_id_is_not_found(stack, client, active):
    other = jobs.receive_order(order(order_id="OTHER-1")).subscription_id
    activate(stack, other)
    other_invoice = _first_invoice(client, stack, other)["id"]
    for path in (
        f"/subscriptions/{active}/invoices/{other_invoice}",
        f"/subscriptions/{active}/invoices/{other_invoice}/pdf",
        f"/subscriptions/{active}/invoices/{other_invoice}/xml",
        f"/subscriptions/{active}/invoices/not-an-id",
        f"/subscriptions/{active}/invoices/00000000-0000-0000-0000-000000000000",
    ):
        response = _get(client, stack, path, **PDF_HEADERS)
        assert response.status_code == 404, path
        assert _json(response)["Message"] == "This subscription has no invoice with this id."


def test_the_pdf_is_the_same_bytes_on_every_download_and_in_the_email(stack, client, active):
    invoice = _first_invoice(client, stack, active)
    path = f"/subscriptions/{active}/invoices/{invoice['id']}/pdf"
    first = _get(client, stack, path, **PDF_HEADERS)
    second = _get(client, stack, path, **PDF_HEADERS)

    assert first.status_code == 200
    assert first.headers["Content-Type"] == "application/pdf"
    assert first.headers["Content-Disposition"] == 'attachment; filename="FR-2026-000001.pdf"'
    downloaded = _pdf_bytes(first)
    assert downloaded.startswith(b"%PDF-") and downloaded == _pdf_bytes(second)
    [attached] = [p for p in _invoice_mail(stack).iter_attachments()]
    assert attached.get_filename() == "FR-2026-000001.pdf" and attached.get_content_type() == "application/pdf"
    assert attached.get_payload(decode=True) == downloaded


def test_a_download_before_the_email_went_out_renders_and_keeps_the_pdf(stack, client, pending, monkeypatch):
    container = stack.container
    monkeypatch.setattr(type(container.delivery), "deliver_now", lambda self, emails: None)  # the worker is late
    activate(stack, pending)
    monkeypatch.undo()
    invoice = _first_invoice(client, stack, pending)
    key = f"invoices/{pending}/{invoice['id']}.pdf"
    assert container.invoice_files.get(key) is None

    path = f"/subscriptions/{pending}/invoices/{invoice['id']}/pdf"
    downloaded = _pdf_bytes(_get(client, stack, path, **PDF_HEADERS))

    assert container.invoice_files.get(key) == downloaded
    stack.clock.advance(minutes=3)
    assert jobs.run_outbox()["sent"] == 2  # the confirmation and the invoice, with the kept bytes attached
    assert _invoice_mail(stack).get_payload()[1].get_payload(decode=True) == downloaded


def test_the_invoice_email_says_number_period_total_and_links_the_portal(stack, active):
    mail = _invoice_mail(stack)
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_content()
    assert mail["Subject"] == "Facture FR-2026-000001 pour PROFIS Engineering Suite"
    assert "FR-2026-000001" in text
    assert "26/11/2026" in text and "25/11/2027" in text  # localized dates (fr)
    assert "2 700,00 EUR" in text  # localized amount (fr)
    assert "https://portail.example.fr" in text


def test_a_failed_pdf_render_leaves_the_email_queued_and_the_job_sends_it(stack, pending, monkeypatch):
    documents = stack.container.invoice_documents
    real_render = documents._render
    monkeypatch.setattr(documents, "_render", lambda invoice, fmt: (_ for _ in ()).throw(RuntimeError("font missing")))
    activate(stack, pending)
    assert [m for m in stack.mails_to(ADMIN) if m["Subject"].startswith("Facture ")] == []

    monkeypatch.setattr(documents, "_render", real_render)
    stack.clock.advance(minutes=3)
    assert jobs.run_outbox()["sent"] == 1
    assert _invoice_mail(stack).get_payload()[1].get_filename() == "FR-2026-000001.pdf"


def test_an_ended_subscription_keeps_its_invoices(stack, client, active):
    stack.ddb.update_item(  # as the renewal job ends it (cancel_at_renewal reached)
        TableName="portal-test",
        Key={"PK": {"S": f"SUB#{active}"}, "SK": {"S": "SUB"}},
        UpdateExpression="SET #s = :ended REMOVE RNPK, RNSK",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":ended": {"S": "ended"}},
    )
    assert stack.subscriptions.get_subscription(active).status.value == "ended"
    response = _get(client, stack, f"/subscriptions/{active}/invoices")
    assert response.status_code == 200 and len(_json(response)["items"]) == 1
    invoice_id = _json(response)["items"][0]["id"]
    pdf = _get(client, stack, f"/subscriptions/{active}/invoices/{invoice_id}/pdf", **PDF_HEADERS)
    assert pdf.status_code == 200


def test_invoices_are_listed_newest_first_page_by_page(stack, client, active):
    from chalicelib.domain.billing.terms import term_period

    subscription = stack.subscriptions.get_subscription(active)
    issuer = stack.container.invoice_issuer
    for k in (1, 2):  # two renewals, as the renewal job would issue them
        start, end = term_period(subscription.activated_at.date(), k, subscription.term_months)
        issuer.issue(
            subscription,
            period_start=start,
            period_end=end,
            kind="renewal",
            now=stack.clock.now(),
        )
    first = _json(_get(client, stack, f"/subscriptions/{active}/invoices?limit=2"))
    rest = _json(_get(client, stack, f"/subscriptions/{active}/invoices?limit=2&cursor={first['next_cursor']}"))

    starts = [i["period"]["start"] for i in first["items"] + rest["items"]]
    assert starts == ["2028-11-26", "2027-11-26", "2026-11-26"]
    assert [i["number"] for i in first["items"] + rest["items"]] == [
        "FR-2026-000003",
        "FR-2026-000002",
        "FR-2026-000001",
    ]
    bad = _get(client, stack, f"/subscriptions/{active}/invoices?limit=0")
    assert bad.status_code == 400


def test_the_agreement_pdf_carries_the_acceptance_record(stack, client, active):
    response = _get(client, stack, f"/subscriptions/{active}/agreement/pdf", **PDF_HEADERS)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="agreement-4500012345-')
    pdf = _pdf_bytes(response)
    assert pdf == _pdf_bytes(_get(client, stack, f"/subscriptions/{active}/agreement/pdf", **PDF_HEADERS))
    text = _pdf_text(pdf)
    assert "marie.dupont@example.fr" in text and "Marie Dupont" in text and "FR-fr-2026.1" in text
    assert _get(client, stack, f"/subscriptions/{active}/agreement/pdf", email=SEAT).status_code == 403


def test_the_agreement_pdf_of_a_pending_subscription_is_the_version_to_accept(stack, client, pending):
    response = _get(client, stack, f"/subscriptions/{pending}/agreement/pdf", **PDF_HEADERS)
    assert response.status_code == 200
    text = _pdf_text(_pdf_bytes(response))
    assert "FR-fr-2026.1" in text and "marie.dupont@example.fr" not in text


def _pdf_text(pdf: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_portal_reads_never_import_the_pdf_libraries(tmp_path):
    """DESIGN 14.7: GET /subscriptions and the invoice list/detail pay nothing for the PDF and XML libraries."""
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from moto import mock_aws
        from chalice.test import Client
        from app import app
        from chalicelib import jobs
        from chalicelib.adapters.clock import FixedClock
        from chalicelib.container import Container, use_container
        from tests.support import ADMIN, NOW, ORDER, provision, shared_issuer, shared_session

        with mock_aws():
            env, _ = provision(Path(sys.argv[1]))
            container = Container(env, clock=FixedClock(NOW), session=shared_session())
            use_container(container)
            sub = jobs.receive_order(ORDER).subscription_id
            from chalicelib.services.identity import RequestContext
            from tests.support import as_admin
            # The activation's invoice email renders its PDF: pretend it went out elsewhere (another process).
            container.delivery.deliver_now = lambda emails: None
            container.activation.activate_in_portal(
                as_admin(container, ADMIN, sub, active=False), accepted=True, agreement_version="FR-fr-2026.1",
                context=RequestContext("1.1.1.1", "t"))
            heavy = [m for m in sys.modules if m.split(".")[0] in ("fpdf", "facturx", "lxml")]
            assert not heavy, heavy
            auth = {"Authorization": "Bearer " + shared_issuer().token(ADMIN, "FR")}
            with Client(app, stage_name="dev") as client:
                statuses = [client.http.get("/subscriptions", headers=auth).status_code]
                listed = client.http.get(f"/subscriptions/{sub}/invoices", headers=auth)
                invoice_id = json.loads(listed.body)["items"][0]["id"]
                detail = client.http.get(f"/subscriptions/{sub}/invoices/{invoice_id}", headers=auth)
                statuses += [listed.status_code, detail.status_code]
            heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("fpdf", "facturx"))
            print(json.dumps({"statuses": statuses, "heavy": heavy}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1",
             "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"statuses": [200, 200, 200], "heavy": []}


def test_the_email_message_on_ses_carries_the_pdf(stack, active):
    from moto.ses.models import ses_backends

    from tests.support import ACCOUNT, REGION, parse_mail

    raws = [m.raw_data for m in ses_backends[ACCOUNT][REGION].sent_messages]
    invoice_mails = [parse_mail(r) for r in raws if "FR-2026-000001" in parse_mail(r)["Subject"]]
    [mail] = invoice_mails
    assert mail.get_content_type() == "multipart/mixed"
    parts = [p.get_content_type() for p in mail.walk()]
    assert parts[:4] == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html"]
    assert parts[4] == "application/pdf" and ORDER["customer"]["name"] in mail.get_body(("plain",)).get_content()
