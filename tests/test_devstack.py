"""The local stack (DESIGN section 10) over real HTTP: `python -m devstack` in a child process, driven with urllib.

The session stack is shared: every test uses its own order ids and addresses, and puts the clock back in a finally.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.sample import sample_customer

pytest.register_assert_rewrite("tests.devstack_fixture")  # before the import below: readable failures

from tests.devstack_fixture import (  # noqa: E402
    PROJECT_DIR,
    DevstackProcess,
    free_port,
    http,
    iso,
    launch,
    new_order,
    port_open,
    unique,
    until,
)

pytest_plugins = ["tests.devstack_fixture"]  # the session fixture `devstack`

DEMO_ADMIN = "marie.dupont@example.fr"
ACTIVATION_LINK_IN_TEXT = re.compile(r"/activate/[A-Za-z0-9_-]{43}")


def _version_on(page: str) -> str:
    match = re.search(r'name="agreement_version" value="([^"]+)"', page)
    assert match, "no agreement_version hidden input on the agreement page"
    return match.group(1)


def _subscriptions(stack: DevstackProcess, email: str, country: str) -> list[dict]:
    result = stack.get("/subscriptions", headers=stack.bearer(email, country))
    assert result.status == 200, result.text
    items: list[dict] = result.json()["items"]
    return items


# ------------------------------------------------------------------------------------------------------- console/mail


def test_console_shows_the_mailbox_forms_and_job_buttons(devstack: DevstackProcess) -> None:
    result = devstack.get("/_dev/")
    assert result.status == 200
    assert result.headers["Content-Type"].startswith("text/html")
    page = result.text
    assert 'id="mailbox"' in page and 'id="messages"' in page
    for job in ("cleanup_unactivated", "deliver_outbox"):
        assert f'data-job="{job}"' in page
    assert 'id="token-form"' in page and 'id="order-form"' in page and 'id="clock-form"' in page
    assert 'id="api-form"' in page
    # The demo's activation link is clickable in the console.
    assert re.search(r'<a href="http://127\.0\.0\.1:\d+/activate/[A-Za-z0-9_-]{43}"', page)


def test_console_escapes_mail_content(devstack: DevstackProcess) -> None:
    order = new_order(customer=sample_customer("FR", id="C-1", name='<script>alert("x")</script> & Co'))
    assert devstack.post_order(order).status == 201
    page = devstack.get(f"/_dev/?to={order['admin']['email']}").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page


def test_the_demo_orders_activation_email_is_waiting(devstack: DevstackProcess) -> None:
    messages = devstack.mailbox(DEMO_ADMIN.upper())  # the filter ignores case
    assert messages, "the demo order's activation email is missing"
    first = messages[0]
    assert set(first) == {"to", "subject", "text", "html", "sent_at", "attachments"}
    assert first["attachments"] == []  # only the invoice email carries one (its PDF)
    assert first["to"] == [DEMO_ADMIN]
    assert "PROFIS Engineering Suite" in first["subject"]
    assert f"{devstack.url}/activate/" in first["text"]
    assert "<html" in first["html"].lower()
    assert datetime.fromisoformat(first["sent_at"].replace("Z", "+00:00")).tzinfo is not None


def test_mailbox_is_oldest_first_and_filters_by_recipient(devstack: DevstackProcess) -> None:
    email = f"{unique('mbox')}@example.fr"
    first, second = new_order(email), new_order(email)
    assert devstack.post_order(first).status == 201
    assert devstack.post_order(second).status == 201
    messages = devstack.mailbox(email)
    assert [first["order_id"] in m["text"] for m in messages] == [True, False]
    assert [second["order_id"] in m["text"] for m in messages] == [False, True]
    everyone = devstack.get("/_dev/mailbox").json()["messages"]
    assert len(everyone) > len(messages)


# ------------------------------------------------------------------------------------------------------------- orders


def test_order_is_created_then_redelivery_changes_nothing(devstack: DevstackProcess) -> None:
    order = new_order()
    created = devstack.post_order(order)
    assert created.status == 201, created.text
    subscription_id = created.json()["subscription_id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", subscription_id)

    again = devstack.post_order(order)
    assert again.status == 200, again.text
    assert again.json() == created.json()
    assert len(devstack.mailbox(order["admin"]["email"])) == 1, "a redelivered order must send no second email"


def test_invalid_order_is_400_with_the_reason(devstack: DevstackProcess) -> None:
    order = new_order(country="France")
    result = devstack.post_order(order)
    assert result.status == 400, result.text
    body = result.json()
    assert body["Code"] == "InvalidOrder"
    assert "country" in body["Message"] and "France" in body["Message"]
    assert devstack.mailbox(order["admin"]["email"]) == []


def test_order_past_its_deadline_is_410_and_creates_nothing(devstack: DevstackProcess) -> None:
    order = new_order(ordered_at=datetime.now(UTC) - timedelta(days=91))
    result = devstack.post_order(order)
    assert result.status == 410, result.text
    assert "deadline" in result.json()["Message"]
    assert devstack.mailbox(order["admin"]["email"]) == []


def test_order_that_is_not_json_is_400(devstack: DevstackProcess) -> None:
    result = devstack.post("/_dev/orders", b"{not json", headers={"Content-Type": "application/json"})
    assert result.status == 400
    assert result.json()["Code"]


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "١٢"])
def test_a_malformed_content_length_gets_a_400_answer(devstack: DevstackProcess, length: str) -> None:
    with socket.create_connection(("127.0.0.1", devstack.port), timeout=10) as conn:
        conn.sendall(
            f"POST /_dev/orders HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}".encode()
        )
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") or head.startswith(b"HTTP/1.0 400"), answer[:200]
    assert json.loads(body)["Code"] == "BadRequestError"
    assert b"application/json" in head


# ------------------------------------------------------------------------------------------------------------- tokens


def test_local_token_is_accepted_and_a_foreign_key_is_not(devstack: DevstackProcess) -> None:
    email = f"{unique('tok')}@example.fr"
    order = new_order(email)
    assert devstack.post_order(order).status == 201
    token = devstack.token(email, "FR", "Token Tester")

    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["email"] == email and claims["country"] == "FR" and claims["name"] == "Token Tester"
    assert claims["aud"] == "local-portal" and claims["iss"] == f"{devstack.url}/_dev/issuer"
    assert claims["exp"] - claims["iat"] == 12 * 3600
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["kid"]

    listing = devstack.get("/subscriptions", headers={"Authorization": f"Bearer {token}"})
    assert listing.status == 200, listing.text
    assert [item["order_id"] for item in listing.json()["items"]] == [order["order_id"]]

    forged = jwt.encode(
        claims,
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": header["kid"]},
    )
    refused = devstack.get("/subscriptions", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status == 401, refused.text


def test_token_request_needs_a_valid_email_and_country(devstack: DevstackProcess) -> None:
    for body in (
        {"country": "FR"},
        {"email": "not-an-address", "country": "FR"},
        {"email": "a@example.fr"},
        {"email": "a@example.fr", "country": "France"},
    ):
        result = devstack.post("/_dev/tokens", body)
        assert result.status == 400, (body, result.text)
        assert result.json()["Message"]


# ---------------------------------------------------------------------------------------------------- clock and jobs


def test_clock_and_cleanup_remove_an_expired_pending_subscription(devstack: DevstackProcess) -> None:
    email = f"{unique('exp')}@example.fr"
    ordered_at = datetime.now(UTC) - timedelta(days=1)
    order = new_order(email, ordered_at=ordered_at)
    created = devstack.post_order(order)
    assert created.status == 201, created.text
    path = f"/subscriptions/{created.json()['subscription_id']}"
    headers = devstack.bearer(email, "FR")
    assert devstack.get(path, headers=headers).status == 200

    try:
        after_deadline = (ordered_at + timedelta(days=90, minutes=5)).replace(microsecond=0)
        moved = devstack.post("/_dev/clock", {"now": iso(after_deadline)})
        assert moved.status == 200, moved.text
        now = datetime.fromisoformat(moved.json()["now"].replace("Z", "+00:00"))
        assert after_deadline <= now < after_deadline + timedelta(minutes=1)
        assert devstack.get(path, headers=headers).status == 404, "invisible as soon as the deadline passed"

        summary = devstack.post("/_dev/jobs/cleanup_unactivated", {})
        assert summary.status == 200, summary.text
        assert summary.json()["removed"] >= 1 and summary.json()["complete"] is True
    finally:
        reset = devstack.delete("/_dev/clock")
    assert reset.status == 200, reset.text
    real = datetime.fromisoformat(reset.json()["now"].replace("Z", "+00:00"))
    assert abs(real - datetime.now(UTC)) < timedelta(minutes=1)
    # Back in real time the subscription would be visible again had the job not removed it.
    assert devstack.get(path, headers=headers).status == 404
    assert devstack.get("/subscriptions", headers=headers).json()["items"] == []


def test_clock_rejects_bad_input(devstack: DevstackProcess) -> None:
    try:
        for body in ({}, {"now": "tomorrow"}, {"now": "2027-01-01T10:00:00"}, {"now": 5}):
            result = devstack.post("/_dev/clock", body)
            assert result.status == 400, (body, result.text)
    finally:
        devstack.delete("/_dev/clock")


def test_jobs_run_on_demand_and_unknown_jobs_are_404(devstack: DevstackProcess) -> None:
    outbox = devstack.post("/_dev/jobs/deliver_outbox", {})
    assert outbox.status == 200, outbox.text
    assert {"sent", "failed", "complete"} <= set(outbox.json())
    # The fanned-out jobs answer once their worker did what they queued, with DESIGN 14.5 / 14.6's summaries.
    renewals = devstack.post("/_dev/jobs/process_renewals", {})
    assert renewals.status == 200 and {"renewed", "ended", "invoices", "complete", "queued"} <= set(renewals.json())
    reminders = devstack.post("/_dev/jobs/send_reminders", {})
    assert {"activation_reminders", "renewal_reminders", "complete"} <= set(reminders.json()), reminders.text
    unknown = devstack.post("/_dev/jobs/no_such_job", {})
    assert unknown.status == 404
    assert "cleanup_unactivated" in unknown.json()["Message"]


# ---------------------------------------------------------------------------------------------------- newcomer flow


def test_newcomer_activates_from_the_email_and_sees_it_active(devstack: DevstackProcess) -> None:
    email = f"{unique('new')}@example.fr"
    order = new_order(email)
    assert devstack.post_order(order).status == 201

    link = devstack.activation_link(email)
    page = http("GET", link)
    assert page.status == 200, page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "PROFIS Engineering Suite" in page.text and order["order_id"] in page.text

    form = f"accept=yes&agreement_version={_version_on(page.text)}"
    done = http(
        "POST", link, form, headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": devstack.url}
    )
    assert done.status == 200, done.text
    assert 'id="title"' in done.text

    [item] = _subscriptions(devstack, email.upper(), "FR")
    assert item["order_id"] == order["order_id"]
    assert item["status"] == "active"
    assert item["role"] == "admin"


def test_activation_in_the_local_stack_issues_an_invoice_mailed_with_its_pdf(devstack: DevstackProcess) -> None:
    email = f"{unique('inv')}@example.fr"
    assert devstack.post_order(new_order(email)).status == 201
    link = devstack.activation_link(email)
    form = f"accept=yes&agreement_version={_version_on(http('GET', link).text)}"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": devstack.url}
    assert http("POST", link, form, headers=headers).status == 200

    [item] = _subscriptions(devstack, email, "FR")
    listed = devstack.get(f"/subscriptions/{item['id']}/invoices", headers=devstack.bearer(email, "FR"))
    assert listed.status == 200, listed.text
    [invoice] = listed.json()["items"]
    assert re.fullmatch(r"FR-\d{4}-\d{6}", invoice["number"]) and invoice["total_amount"] == "2700.00"
    [mail] = [m for m in devstack.mailbox(email) if invoice["number"] in m["subject"]]
    [attachment] = mail["attachments"]
    assert attachment["filename"] == f"{invoice['number']}.pdf" and attachment["content_type"] == "application/pdf"
    pdf = http(
        "GET",
        f"{devstack.url}/subscriptions/{item['id']}/invoices/{invoice['id']}/pdf",
        headers={**devstack.bearer(email, "FR"), "Accept": "application/pdf"},
    )
    assert pdf.status == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert len(pdf.body) == attachment["size"] and pdf.body.startswith(b"%PDF-")


# ------------------------------------------------------------------------------------------------------- orders queue


def test_dev_aws_describes_the_embedded_aws_and_the_orders_queues(devstack: DevstackProcess) -> None:
    aws = devstack.aws()
    assert set(aws) == {"endpoint_url", "region", "orders_queue_url", "orders_dead_letter_queue_url", "work_queue_url",
                        "work_dead_letter_queue_url", "table"}
    assert aws["endpoint_url"] == devstack.moto_url and aws["region"] == "eu-west-1"
    sqs = devstack.sqs()
    queue = sqs.get_queue_attributes(QueueUrl=aws["orders_queue_url"], AttributeNames=["All"])["Attributes"]
    dead = sqs.get_queue_attributes(QueueUrl=aws["orders_dead_letter_queue_url"], AttributeNames=["All"])["Attributes"]
    assert json.loads(queue["RedrivePolicy"]) == {"deadLetterTargetArn": dead["QueueArn"], "maxReceiveCount": 2}
    assert queue["VisibilityTimeout"] == "1"  # the fixture's; `make dev` keeps a few seconds
    assert queue["MessageRetentionPeriod"] == dead["MessageRetentionPeriod"] == "1209600"  # infra's
    sqs.close()


def test_an_order_published_to_the_queue_creates_the_subscription_and_its_email(devstack: DevstackProcess) -> None:
    email = f"{unique('sqs')}@example.fr"
    order = new_order(email)
    sqs = devstack.sqs()
    sqs.send_message(QueueUrl=devstack.aws()["orders_queue_url"], MessageBody=json.dumps(order))
    [message] = until(lambda: devstack.mailbox(email), what="the activation email of the published order")
    assert ACTIVATION_LINK_IN_TEXT.search(message["text"])
    [item] = _subscriptions(devstack, email, "FR")
    assert item["order_id"] == order["order_id"] and item["status"] == "pending_activation"
    until(lambda: _queue_is_empty(sqs, devstack.aws()["orders_queue_url"]), what="the done message's deletion")
    sqs.close()


def test_a_queued_redelivery_of_a_posted_order_takes_the_same_intake(devstack: DevstackProcess) -> None:
    email = f"{unique('same')}@example.fr"
    order = new_order(email)
    posted = devstack.post_order(order)
    assert posted.status == 201
    sqs = devstack.sqs()
    url = devstack.aws()["orders_queue_url"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(order))
    until(lambda: _queue_is_empty(sqs, url), what="the redelivered message's deletion")
    assert len(devstack.mailbox(email)) == 1  # the order_id was already known: no second subscription, no second email
    assert [s["id"] for s in _subscriptions(devstack, email, "FR")] == [posted.json()["subscription_id"]]
    sqs.close()


def test_a_bad_order_on_the_queue_ends_in_the_dead_letter_queue_and_creates_nothing(
    devstack: DevstackProcess,
) -> None:
    email = f"{unique('bad')}@example.fr"
    bad = new_order(email, license_quantity=0)
    aws = devstack.aws()
    sqs = devstack.sqs()
    good = new_order()
    sqs.send_message_batch(QueueUrl=aws["orders_queue_url"], Entries=[
        {"Id": "bad", "MessageBody": json.dumps(bad)}, {"Id": "good", "MessageBody": json.dumps(good)},
    ])

    def dead_lettered() -> list[dict]:
        messages: list[dict] = sqs.receive_message(QueueUrl=aws["orders_dead_letter_queue_url"],
                                                   MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        return [m for m in messages if json.loads(m["Body"]).get("order_id") == bad["order_id"]]

    [message] = until(dead_lettered, timeout_s=30, what="the bad order's arrival in the dead-letter queue")
    assert json.loads(message["Body"]) == bad
    sqs.delete_message(QueueUrl=aws["orders_dead_letter_queue_url"], ReceiptHandle=message["ReceiptHandle"])
    assert devstack.mailbox(email) == [] and _subscriptions(devstack, email, "FR") == []
    assert devstack.mailbox(good["admin"]["email"]), "the good order of the same batch was not taken in"
    assert "license_quantity" in devstack.log()  # the rejection's reason is logged
    sqs.close()


def _queue_is_empty(sqs: object, url: str) -> bool:
    attributes = sqs.get_queue_attributes(  # type: ignore[attr-defined]
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_queues_are_created_from_infra_with_a_local_visibility_timeout() -> None:
    import boto3
    from moto import mock_aws

    from devstack import queues as sqs_queues
    from infra.tables import template

    infra = template()["Resources"]
    for spec in (sqs_queues.ORDERS, sqs_queues.WORK):
        with mock_aws():
            sqs = boto3.session.Session().client("sqs", region_name="eu-west-1")
            queues = sqs_queues.create_queues(sqs, spec=spec)
            attributes = sqs.get_queue_attributes(QueueUrl=queues.url, AttributeNames=["All"])["Attributes"]
        properties = infra[spec.logical_id]["Properties"]
        assert json.loads(attributes["RedrivePolicy"]) == {
            "deadLetterTargetArn": queues.dead_letter_arn,
            "maxReceiveCount": properties["RedrivePolicy"]["maxReceiveCount"],
        }
        assert attributes["VisibilityTimeout"] == str(sqs_queues.LOCAL_VISIBILITY_TIMEOUT_S)
        assert attributes["MessageRetentionPeriod"] == str(properties["MessageRetentionPeriod"])


def test_a_malformed_handler_response_leaves_the_whole_batch_on_the_queue() -> None:
    from devstack.queues import failed_ids

    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "a"}]}, ["a", "b"]) == {"a"}
    assert failed_ids({"batchItemFailures": []}, ["a", "b"]) == set()
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, ["a", "b"]) == {"a", "b"}
    assert failed_ids({"batchItemFailures": [{"id": "a"}]}, ["a", "b"]) == {"a", "b"}
    assert failed_ids("nonsense", ["a"]) == {"a"}


# --------------------------------------------------------------------------------------------------------------- log

CARD = "4111111111111111"


def test_the_log_holds_no_activation_token_and_no_query_string(devstack: DevstackProcess) -> None:
    email = f"{unique('log')}@example.fr"
    assert devstack.post_order(new_order(email)).status == 201
    link = devstack.activation_link(email)
    token = link.rsplit("/", 1)[1]
    port = urlsplit(link).port

    assert http("GET", f"{link}?utm_source=mail&card={CARD}").status == 200
    assert http("HEAD", link).status == 200
    assert http("GET", f"{devstack.url}/ACTIVATE/{token}").status == 404  # no such route (JSON 404)
    assert http("POST", link, "accept=no", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                     "Origin": devstack.url}).status in (400, 403, 409)
    assert http("GET", f"{devstack.url}/subscriptions?card_number={CARD}").status == 401
    # A request line the server refuses is logged as an error with the raw line: redacted too.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(f"GET /activate/{token}?card={CARD} HTTP/1.1 extra\r\n\r\n".encode())
        assert b"400" in raw.recv(4096)

    log = devstack.log()
    assert "/activate/\u2026" in log, "the activation requests were not logged at all"
    assert token not in log
    assert token.lower() not in log.lower()
    assert CARD not in log
    assert "?" not in "".join(line for line in log.splitlines() if '"' in line and "HTTP/1." in line)


# ---------------------------------------------------------------------------------------------------------- schedule


def test_scheduler_runs_jobs_on_their_period_and_stops() -> None:
    from devstack.scheduler import Job, Scheduler

    ran = threading.Event()
    runs: list[str] = []

    def job() -> dict[str, bool]:
        runs.append("fast")
        if len(runs) >= 3:
            ran.set()
        return {"complete": True}

    def failing() -> None:
        raise RuntimeError("a failing job must not stop the scheduler")

    scheduler = Scheduler([Job("fast", 0.01, job), Job("failing", 0.01, failing), Job("hourly", 3600, job)])
    scheduler.start()
    try:
        assert ran.wait(10), "the scheduler did not run the job on its period"
    finally:
        scheduler.stop(timeout_s=10)
    assert not scheduler.running
    assert set(runs) == {"fast"}


# ---------------------------------------------------------------------------------------------------------- stopping


def test_ctrl_c_stops_everything(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stack = launch(tmp_path, port=free_port())
    moto_url = stack.moto_url
    assert moto_url
    moto_port = urlsplit(moto_url).port
    assert moto_port and port_open(moto_port)

    code = stack.stop(signal.SIGINT)

    assert code == 0, stack.log()
    assert "Console (mailbox, tokens, orders, jobs, clock):  " + f"{stack.url}/_dev/" in stack.log()
    assert not port_open(stack.port), "the app's port still answers after Ctrl-C"
    assert not port_open(moto_port), "the moto server still answers after Ctrl-C"


def test_start_and_stop_from_python_leave_nothing_running(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The importable runner: start() serves in threads, stop() ends every one of them and frees both ports."""
    script = textwrap.dedent(
        """
        import json, socket, threading, urllib.request
        from devstack.server import start

        def answers(port):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False

        from devstack.moto_lock import is_serialized

        before = {t.ident for t in threading.enumerate()}
        stack = start(port=0, demo_order=False)
        serialized = is_serialized()
        moto_port = int(stack.moto_url.rsplit(":", 1)[1])
        # A keep-alive connection held open across stop(), as a browser would.
        keep = socket.create_connection(("127.0.0.1", stack.port))
        keep.sendall(b"GET /health HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
        first = b""
        while not first.endswith(b'"ok"}'):
            chunk = keep.recv(4096)
            if not chunk:
                break
            first += chunk
        with urllib.request.urlopen(stack.url + "/_dev/mailbox") as response:
            status = response.status
        stack.stop()
        stack.stop()  # idempotent
        try:
            closed = keep.recv(1) == b""
        except ConnectionResetError:
            closed = True
        left = [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive()]
        print(json.dumps({"serialized": serialized, "health": first.split(b"\\r\\n")[0].decode(), "mailbox": status,
                          "left": left, "app_port": answers(stack.port), "moto_port": answers(moto_port),
                          "held_connection_closed": closed}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["serialized"] is True, "moto's DynamoDB backend must be serialized before the stack serves"
    assert report["health"] == "HTTP/1.1 200 OK" and report["mailbox"] == 200
    assert report["app_port"] is False and report["moto_port"] is False
    assert report["held_connection_closed"] is True
    assert report["left"] == [], f"threads still running after stop(): {report['left']}"


def test_the_local_stack_never_oversells_under_parallel_requests(devstack: DevstackProcess) -> None:
    """The embedded moto server is serialized like DynamoDB: 20 parallel assignments on 3 seats give exactly 3."""
    from concurrent.futures import ThreadPoolExecutor

    admin = f"{unique('atomic')}@example.fr"
    created = devstack.post_order(new_order(admin, license_quantity=3))
    assert created.status == 201, created.text
    subscription_id = created.json()["subscription_id"]
    auth = devstack.bearer(admin, "FR")
    activated = devstack.post(f"/subscriptions/{subscription_id}/activation",
                              {"accept_agreement": True, "agreement_version": "FR-fr-2026.1"}, headers=auth)
    assert activated.status == 200, activated.text
    barrier = threading.Barrier(20)

    def assign(n: int) -> int:
        barrier.wait()
        return devstack.post(f"/subscriptions/{subscription_id}/users",
                             {"email": f"seat{n}-{subscription_id[:8]}@example.fr", "name": f"Seat {n}"},
                             headers=auth).status

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = sorted(pool.map(assign, range(20)))

    assert statuses == [201] * 3 + [409] * 17
    users = devstack.get(f"/subscriptions/{subscription_id}/users", headers=auth).json()
    assert users["seats"] == {"quantity": 3, "used": 3} and len(users["items"]) == 3


def test_a_method_no_route_takes_is_the_apis_json_error_not_an_html_501(devstack: DevstackProcess) -> None:
    """Found by schemathesis (unexpected methods): http.server answered TRACE with its own HTML 501."""
    for method in ("TRACE", "PROPFIND"):
        answer = http(method, f"{devstack.url}/subscriptions")
        assert answer.status == 405, answer.text
        assert answer.headers["Content-Type"] == "application/json" and set(answer.json()) == {"Code", "Message"}
