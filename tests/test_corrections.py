"""Correcting an issued invoice (DESIGN 15.1, 15.2): a credit note and a replacement in one unit, through the API as
the admin's portal calls it, with the email, the history, the numbering and the refusals a user would meet."""

from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader

from tests.support import ADMIN, SEAT, as_admin

CORRECTED_PO = {"reason": "The buyer's AP needs PO 4711", "po_number": "PO-4711"}


def _headers(stack, email=ADMIN, country="FR", **extra):
    return {**stack.issuer.bearer(email, country), "Content-Type": "application/json", **extra}


def _post(client, stack, path, body, email=ADMIN, **extra):
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.http.post(path, headers=_headers(stack, email, **extra), body=raw)


def _get(client, stack, path, email=ADMIN, **extra):
    return client.http.get(path, headers={**stack.issuer.bearer(email, "FR"), **extra})


def _json(response):
    return json.loads(response.body)


def _invoices(client, stack, subscription_id):
    response = _get(client, stack, f"/subscriptions/{subscription_id}/invoices")
    assert response.status_code == 200, response.body
    return _json(response)["items"]


def _correct(client, stack, subscription_id, invoice_id, body=CORRECTED_PO, **extra):
    return _post(client, stack, f"/subscriptions/{subscription_id}/invoices/{invoice_id}/correction", body, **extra)


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _counter(stack, series: str) -> int:
    item = stack.ddb.get_item(TableName="portal-test", Key={"PK": {"S": f"SERIES#{series}"}, "SK": {"S": "SERIES"}})
    return int(item["Item"]["last_number"]["N"]) if "Item" in item else 0


@pytest.fixture
def original(stack, client, active):
    [invoice] = _invoices(client, stack, active)
    return invoice


def test_a_correction_cancels_the_invoice_with_a_credit_note_and_reissues_it(stack, client, active, original):
    stack.clock.advance(days=3)
    response = _correct(client, stack, active, original["id"])

    assert response.status_code == 201, response.body
    body = _json(response)
    note, replacement = body["credit_note"], body["replacement"]
    # The credit note: the original as issued, cited by number and date, under its own series
    assert note["type"] == "credit_note" and note["kind"] == "correction" and note["number"] == "FR-2026-C000001"
    assert note["corrects"] == {"id": original["id"], "number": "FR-2026-000001", "issue_date": "2026-11-26"}
    for same in ("buyer", "seller", "po_number", "period", "lines", "net_amount", "tax_amount", "total_amount",
                 "tax_breakdown", "currency"):  # fmt: skip
        assert note[same] == original[same], same
    assert note["issue_date"] == "2026-11-29" and note["total_amount"] == "2700.00"  # positive amounts
    # The replacement: an invoice of the next number with the corrected PO, the same term and amounts
    assert replacement["type"] == "invoice" and replacement["number"] == "FR-2026-000002"
    assert replacement["replaces"] == {"id": original["id"], "number": "FR-2026-000001"}
    assert replacement["po_number"] == "PO-4711" and replacement["kind"] == original["kind"]
    assert replacement["period"] == original["period"] and replacement["total_amount"] == "2700.00"
    assert replacement["corrects"] is None and note["replaces"] is None

    # The original is unchanged but for what corrected it; the list shows all three, newest first
    detail = _json(_get(client, stack, f"/subscriptions/{active}/invoices/{original['id']}"))
    assert detail["corrected_by"] == {
        "credit_note": {"id": note["id"], "number": "FR-2026-C000001"},
        "replacement": {"id": replacement["id"], "number": "FR-2026-000002"},
    }
    assert {k: v for k, v in detail.items() if k != "corrected_by"} == {
        k: v for k, v in original.items() if k != "corrected_by"
    }
    listed = _invoices(client, stack, active)
    assert [i["number"] for i in listed] == ["FR-2026-000002", "FR-2026-C000001", "FR-2026-000001"]
    assert listed[1] == {**note, "corrected_by": None} and listed[0]["corrected_by"] is None

    # The subscription keeps the corrected PO for later invoices; the history says what happened and why
    assert stack.subscriptions.get_subscription(active).po_number == "PO-4711"
    history = _json(_get(client, stack, f"/subscriptions/{active}/history"))["items"]
    assert history[0]["action"] == "invoice.corrected" and history[0]["actor"] == ADMIN
    assert history[0]["details"]["reason"] == "The buyer's AP needs PO 4711"
    assert history[0]["details"]["changes"] == {"po_number": {"old": "PO-7781", "new": "PO-4711"}}
    assert history[0]["details"]["credit_note"]["number"] == "FR-2026-C000001"


def test_the_admin_gets_both_pdfs_and_each_says_what_it_is(stack, client, active, original):
    body = _json(_correct(client, stack, active, original["id"]))

    [mail] = [m for m in stack.mails_to(ADMIN) if "corrigée" in m["Subject"]]
    assert "FR-2026-C000001" in mail["Subject"] and "FR-2026-000002" in mail["Subject"]
    attached = {part.get_filename(): part.get_payload(decode=True) for part in mail.iter_attachments()}
    assert sorted(attached) == ["FR-2026-000002.pdf", "FR-2026-C000001.pdf"]
    for document in (body["credit_note"], body["replacement"]):  # the same bytes as the downloads
        path = f"/subscriptions/{active}/invoices/{document['id']}/pdf"
        download = _get(client, stack, path, Accept="application/pdf")
        assert download.status_code == 200
        assert download.headers["Content-Disposition"] == f'attachment; filename="{document["number"]}.pdf"'
    note_text = _pdf_text(attached["FR-2026-C000001.pdf"])
    assert "Avoir" in note_text and "Annule la facture" in note_text and "FR-2026-000001 du 26/11/2026" in note_text
    replacement_text = _pdf_text(attached["FR-2026-000002.pdf"])
    assert "Remplace la facture" in replacement_text and "PO-4711" in replacement_text
    assert "Avoir" not in replacement_text


def test_the_credit_notes_factur_x_names_its_type_and_the_invoice_it_cancels(stack, client, active, original):
    import facturx

    from devstack import einvoice_rules

    body = _json(_correct(client, stack, active, original["id"]))
    pdf = stack.container.billing.invoice_pdf(as_admin(stack.container, ADMIN, active), body["credit_note"]["id"]).data
    _, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert b"<ram:TypeCode>381</ram:TypeCode>" in xml
    assert b"<ram:IssuerAssignedID>FR-2026-000001</ram:IssuerAssignedID>" in xml
    assert einvoice_rules.blocking(xml, ["cen-cii"]) == []


def test_a_vat_id_and_an_address_abroad_make_the_replacement_reverse_charged(stack, client, active, original):
    body = {
        "reason": "Wrong legal entity: the German subsidiary buys",
        "buyer": {
            "name": "Dupont Bau GmbH",
            "address": {"lines": ["Hauptstraße 1"], "postal_code": "10115", "city": "Berlin", "country": "DE"},
            "vat_id": "DE 123 456 789",
        },
    }
    response = _correct(client, stack, active, original["id"], body)

    assert response.status_code == 201, response.body
    replacement = _json(response)["replacement"]
    assert replacement["buyer"]["name"] == "Dupont Bau GmbH" and replacement["buyer"]["vat_id"] == "DE123456789"
    assert (replacement["tax_amount"], replacement["total_amount"]) == ("0.00", "2250.00")
    assert [line["tax_category"] for line in replacement["lines"]] == ["AE"]
    [entry] = replacement["tax_breakdown"]
    assert entry["category"] == "AE" and entry["exemption_reason"].startswith("Autoliquidation")
    assert _json(response)["credit_note"]["tax_amount"] == "450.00"  # the credit note cancels what was invoiced
    customer = stack.subscriptions.get_subscription(active).customer
    assert (customer.name, customer.vat_id, customer.address.city) == ("Dupont Bau GmbH", "DE123456789", "Berlin")


def test_a_renewal_after_the_correction_invoices_the_corrected_values(stack, client, active, original):
    assert _correct(client, stack, active, original["id"]).status_code == 201
    stack.clock.advance(days=366)
    stack.container.renewals.settle({"subscription_id": active})

    renewal = _invoices(client, stack, active)[0]
    assert renewal["kind"] == "renewal" and renewal["po_number"] == "PO-4711"
    assert renewal["number"] == "FR-2027-000001"


def test_a_credit_note_or_a_corrected_invoice_cannot_be_corrected_again(stack, client, active, original):
    body = _json(_correct(client, stack, active, original["id"]))
    again = {"reason": "once more", "po_number": "PO-9"}

    for document_id in (original["id"], body["credit_note"]["id"]):
        response = _correct(client, stack, active, document_id, again)
        assert response.status_code == 409, response.body
    assert "credit note" in _json(_correct(client, stack, active, body["credit_note"]["id"], again))["Message"]
    assert len(_invoices(client, stack, active)) == 3
    # the replacement is an invoice like any other: it can be corrected in turn
    second = _correct(client, stack, active, body["replacement"]["id"], again)
    assert second.status_code == 201
    assert _json(second)["credit_note"]["number"] == "FR-2026-C000002"
    assert _json(second)["replacement"]["number"] == "FR-2026-000003"
    assert [i["number"] for i in _invoices(client, stack, active)] == [
        "FR-2026-000003", "FR-2026-C000002", "FR-2026-000002", "FR-2026-C000001", "FR-2026-000001",
    ]  # fmt: skip


def test_an_ended_subscription_is_read_only(stack, client, active, original):
    stack.ddb.update_item(
        TableName="portal-test",
        Key={"PK": {"S": f"SUB#{active}"}, "SK": {"S": "SUB"}},
        UpdateExpression="SET #s = :ended REMOVE RNPK, RNSK",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":ended": {"S": "ended"}},
    )
    response = _correct(client, stack, active, original["id"])
    assert response.status_code == 409 and "ended" in _json(response)["Message"]
    assert len(_invoices(client, stack, active)) == 1


def test_only_the_admin_corrects(stack, client, active, original):
    seat = _correct(client, stack, active, original["id"], email=SEAT)
    assert seat.status_code == 403
    assert _correct(client, stack, active, original["id"], email="stranger@example.fr").status_code == 404
    unknown = _correct(client, stack, active, "00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404 and _json(unknown)["Message"] == "This subscription has no invoice with this id."
    assert len(_invoices(client, stack, active)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "same PO", "po_number": "PO-7781"}, None),  # nothing would change
        ({"reason": "nothing given"}, None),
        ({"reason": "same name", "buyer": {"name": "Dupont BTP SARL"}}, None),
        ({"po_number": "PO-1"}, "/reason"),
        ({"reason": " ", "po_number": "PO-1"}, "/reason"),
        ({"reason": "too long", "po_number": "P" * 36}, "/po_number"),
        ({"reason": "bad VAT", "buyer": {"vat_id": "12"}}, "/buyer/vat_id"),
        ({"reason": "bad SIREN", "buyer": {"siren": "123456789"}}, "/buyer/siren"),
        ({"reason": "bad address", "buyer": {"address": {"city": "Paris", "country": "XX"}}}, "/buyer/address/country"),
        ({"reason": "bad e-address", "buyer": {"electronic_address": {"scheme": "x", "id": "1"}}},
         "/buyer/electronic_address"),
        ({"reason": "no name", "buyer": {"name": None}}, "/buyer/name"),
        ({"reason": "unknown", "discount": "10%"}, "/discount"),
    ],
)
def test_a_correction_that_changes_nothing_or_is_invalid_is_refused_and_changes_nothing(
    stack, client, active, original, body, field
):
    version = stack.subscriptions.get_subscription(active).version
    response = _correct(client, stack, active, original["id"], body)

    assert response.status_code == 400, response.body
    assert _json(response).get("Field") == field
    assert stack.subscriptions.get_subscription(active).version == version
    assert len(_invoices(client, stack, active)) == 1
    assert _counter(stack, "FR-2026-C") == 0


def test_a_siren_and_an_electronic_address_are_validated_and_recorded(stack, client, active, original):
    body = {
        "reason": "The buyer's PA needs its e-address",
        "po_number": "PO-4711",
        "buyer": {"siren": "732 829 320", "electronic_address": {"scheme": "0225", "id": "732829320"}},
    }
    response = _correct(client, stack, active, original["id"], body)

    assert response.status_code == 201, response.body
    details = _json(_get(client, stack, f"/subscriptions/{active}/history"))["items"][0]["details"]
    assert details["customer"] == {
        "siren": "732829320", "electronic_address": {"scheme": "0225", "id": "732829320"},
    }  # fmt: skip
    customer = stack.subscriptions.get_subscription(active).customer  # kept for later invoices
    assert (customer.siren, customer.electronic_address.id) == ("732829320", "732829320")


def test_an_idempotent_retry_replays_the_first_answer_and_issues_nothing_more(stack, client, active, original):
    first = _correct(client, stack, active, original["id"], **{"Idempotency-Key": "fix-po-1"})
    replay = _correct(client, stack, active, original["id"], **{"Idempotency-Key": "fix-po-1"})

    assert first.status_code == replay.status_code == 201
    assert _json(replay) == _json(first) and replay.headers.get("Idempotent-Replayed") == "true"
    assert len(_invoices(client, stack, active)) == 3
    assert (_counter(stack, "FR-2026-C"), _counter(stack, "FR-2026")) == (1, 2)
    assert len([m for m in stack.mails_to(ADMIN) if "corrigée" in m["Subject"]]) == 1


def test_a_correction_racing_a_renewal_loses_neither(stack, client, active, original):
    """The renewal reads the subscription, then the correction commits, then the renewal tries to commit: it loses
    its version condition, reads again and invoices the corrected PO number; nothing is lost or numbered twice."""
    stack.clock.advance(days=366)  # the renewal is due; both documents are issued in 2027
    issuer = stack.container.renewals._issuer
    real_factory = issuer._unit_of_work
    corrected = []

    def unit_of_work():
        uow = real_factory()
        real_commit = uow.commit

        def commit():  # the renewal's first attempt read the subscription before the correction committed
            if not corrected:
                corrected.append(_correct(client, stack, active, original["id"]))
            real_commit()

        uow.commit = commit
        return uow

    issuer._unit_of_work = unit_of_work
    stack.container.renewals.settle({"subscription_id": active})

    assert corrected[0].status_code == 201, corrected[0].body
    subscription = stack.subscriptions.get_subscription(active)
    assert subscription.po_number == "PO-4711" and subscription.next_renewal_date.isoformat() == "2028-11-26"
    numbers = sorted(i["number"] for i in _invoices(client, stack, active))
    assert numbers == ["FR-2026-000001", "FR-2027-000001", "FR-2027-000002", "FR-2027-C000001"]
    renewal = next(i for i in _invoices(client, stack, active) if i["kind"] == "renewal" and not i["replaces"])
    assert renewal["po_number"] == "PO-4711" and renewal["number"] == "FR-2027-000002"


def test_a_renewal_committing_during_a_correction_is_kept(stack, client, active, original):
    """The correction reads the subscription, then the renewal commits: the correction re-reads and corrects the
    renewed subscription, keeping its new renewal date."""
    stack.clock.advance(days=366)
    container = stack.container
    corrections = container.corrections
    real_factory = corrections._unit_of_work
    renewed = []

    def unit_of_work():
        uow = real_factory()
        real_commit = uow.commit

        def commit():
            if not renewed:
                renewed.append(container.renewals.settle({"subscription_id": active}))
            real_commit()

        uow.commit = commit
        return uow

    corrections._unit_of_work = unit_of_work
    response = _correct(client, stack, active, original["id"])

    assert response.status_code == 201, response.body
    assert renewed == [{"renewed": 1, "ended": 0, "invoices": 1}]
    subscription = stack.subscriptions.get_subscription(active)
    assert subscription.po_number == "PO-4711" and subscription.next_renewal_date.isoformat() == "2028-11-26"
    assert _json(response)["replacement"]["number"] == "FR-2027-000002"  # the renewal took 000001 meanwhile
    assert (_counter(stack, "FR-2027"), _counter(stack, "FR-2027-C")) == (2, 1)


def test_twenty_parallel_corrections_of_one_invoice_issue_one_credit_note_and_one_replacement(
    stack, client, active, original
):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from chalice.local import CustomLocalChalice, LocalChalice

    from app import app
    from devstack.moto_lock import serialize_dynamodb

    serialize_dynamodb()  # DynamoDB's own atomicity (plain moto lets two conditional writes both pass)
    if not isinstance(app, LocalChalice):  # a current_request per thread, as `chalice local` has it
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    gateway = client.http._local_gateway
    headers = {k.lower(): v for k, v in _headers(stack).items()}
    path = f"/subscriptions/{active}/invoices/{original['id']}/correction"
    barrier = threading.Barrier(20)

    def send(n: int) -> tuple[int, str]:
        barrier.wait()
        body = json.dumps({"reason": f"attempt {n}", "po_number": f"PO-{n}"}).encode()
        response = gateway.handle_request("POST", path, headers, body)
        return response["statusCode"], response["body"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(send, range(20)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 19, results
    listed = _invoices(client, stack, active)
    assert [i["number"] for i in listed] == ["FR-2026-000002", "FR-2026-C000001", "FR-2026-000001"]
    assert (_counter(stack, "FR-2026"), _counter(stack, "FR-2026-C")) == (2, 1)  # both series without a gap
    [winner] = [json.loads(body) for status, body in results if status == 201]
    assert stack.subscriptions.get_subscription(active).po_number == winner["replacement"]["po_number"]
    assert len([m for m in stack.mails_to(ADMIN) if "corrigée" in m["Subject"]]) == 1
    history = _json(_get(client, stack, f"/subscriptions/{active}/history"))["items"]
    assert [e["action"] for e in history].count("invoice.corrected") == 1


# -- the two documents, built by the domain, against the official rules (EN 16931 CII and Factur-X) --------------------
def _domain_correction(**changes):
    from chalicelib.domain.billing.correction import Correction

    return Correction(reason="wrong legal entity", **changes)


def test_a_german_credit_note_and_its_reverse_charged_replacement_pass_cen_and_factur_x():
    from datetime import UTC, datetime

    from chalicelib.adapters.einvoice import semantic_of, serialize
    from chalicelib.domain.billing.correction import credit_note_for, replacement_for
    from chalicelib.domain.models import PostalAddress
    from devstack.einvoice_rules import blocking, rule_sets_for
    from tests.test_billing_domain import make_invoice

    original = make_invoice(country="DE", language="de", buyer_address_country="DE")
    moment = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    note = credit_note_for(original, number="DE-2026-C000001", issued_at=moment)
    abroad = PostalAddress(lines=("3 place Bellecour",), postal_code="69002", city="Lyon", country="FR")
    correction = _domain_correction(buyer_address=abroad, buyer_vat_id="FR12345678901", po_number="PO-1")
    replacement = replacement_for(original, correction, seller=original.seller, number="DE-2026-000002",
                                  issued_at=moment)  # fmt: skip

    assert (note.type_code, note.cancels.number) == ("381", original.number)
    assert note.cancels.issue_date == original.issue_date
    assert (note.lines, note.total_amount, note.buyer) == (original.lines, original.total_amount, original.buyer)
    assert replacement.tax_breakdown[0].category == "AE" and replacement.total_amount == original.net_amount
    assert replacement.replaces.number == original.number and replacement.period == original.period
    for document in (note, replacement):
        xml = serialize("cii", semantic_of(document))
        assert blocking(xml, rule_sets_for("cii", french_seller=False)) == [], document.number
    assert b"<ram:TypeCode>381</ram:TypeCode>" in serialize("cii", semantic_of(note))


def test_a_credit_note_is_never_credited_again_by_the_domain():
    from datetime import UTC, datetime

    from chalicelib.domain.billing.correction import credit_note_for
    from tests.test_billing_domain import make_invoice

    note = credit_note_for(make_invoice(), number="FR-2026-C000001", issued_at=datetime(2026, 12, 3, tzinfo=UTC))
    with pytest.raises(ValueError, match="credit note"):
        credit_note_for(note, number="FR-2026-C000002", issued_at=datetime(2026, 12, 3, tzinfo=UTC))


def test_parallel_corrections_of_many_invoices_number_both_series_without_a_gap(stack, client, active):
    """Ten subscriptions of one seller corrected at once: every correction commits, and the counters they all take
    a number from (credit notes and invoices) end with consecutive numbers, none twice."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib import jobs
    from devstack.moto_lock import serialize_dynamodb
    from tests.support import activate, order

    serialize_dynamodb()
    subscriptions = [active]
    for n in range(9):
        other = jobs.receive_order(order(order_id=f"PAR-{n}")).subscription_id
        activate(stack, other)
        subscriptions.append(other)
    originals = [(s, _invoices(client, stack, s)[0]["id"]) for s in subscriptions]
    barrier = threading.Barrier(len(originals))

    def correct(target):
        from chalicelib.domain.billing.correction import Correction

        subscription_id, invoice_id = target
        barrier.wait()
        container = stack.container
        return container.corrections.correct(
            as_admin(container, ADMIN, subscription_id), invoice_id, Correction(reason="PO", po_number="PO-NEW")
        )

    with ThreadPoolExecutor(max_workers=len(originals)) as pool:
        done = list(pool.map(correct, originals))

    notes = sorted(d.credit_note.number for d in done)
    replacements = sorted(d.replacement.number for d in done)
    assert notes == [f"FR-2026-C{n:06d}" for n in range(1, 11)]
    assert replacements == [f"FR-2026-{n:06d}" for n in range(11, 21)]  # 1..10 were the activations' invoices
    assert (_counter(stack, "FR-2026"), _counter(stack, "FR-2026-C")) == (20, 10)


@pytest.mark.parametrize(
    ("buyer", "reason"),
    [
        ({"vat_id": None, "siren": None}, "buyer.siren is required for a buyer in France"),
        ({"address": {"lines": [], "city": "Lyon", "postal_code": "69002", "country": "FR"}}, "1 to 4 street lines"),
        ({"address": {"lines": ["1 rue X"], "postal_code": "69002", "country": "FR"}}, "buyer.address.city"),
    ],
)
def test_a_correction_the_replacement_could_not_lawfully_state_is_refused_as_intake_refuses_it(
    stack, client, active, original, buyer, reason
):
    """A replacement is numbered and final: buyer data intake would refuse (no SIREN for a buyer in France, an
    incomplete postal address) is refused before anything is written."""
    version = stack.subscriptions.get_subscription(active).version
    response = _correct(client, stack, active, original["id"], {"reason": "AP rejected it", "buyer": buyer})

    assert response.status_code == 400, response.body
    assert reason in _json(response)["Message"]
    assert stack.subscriptions.get_subscription(active).version == version
    assert len(_invoices(client, stack, active)) == 1
    assert _counter(stack, "FR-2026-C") == 0
