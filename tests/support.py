"""Shared test helpers: the AWS stack on moto, a token issuer, orders, mailbox readers."""

from __future__ import annotations

import copy
import email
import email.policy
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.adapters.clock import FixedClock
from chalicelib.container import Container
from devstack.app_env import app_env
from devstack.sample import SAMPLE_ORDER as ORDER
from devstack.sample import sample_customer
from infra.tables import create_invoice_bucket, create_table

if TYPE_CHECKING:
    from chalicelib.services.access import Authorized
    from chalicelib.services.ports.subscriptions import SubscriptionStore

REGION = "eu-west-1"
ACCOUNT = "123456789012"
TABLE = "portal-test"
SENDER = "no-reply@vendor.example"
ISSUER = "https://idp.test.example/pool"
AUDIENCE = "portal-client"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
INVOICE_BUCKET = "portal-invoices-test"


ADMIN = ORDER["admin"]["email"]
SEAT = "sam.seat@example.fr"


def as_admin(container: Container, email: str, subscription_id: str, active: bool = True) -> Authorized:
    """What the pipeline hands a use case after it authorized the caller as the subscription's admin."""
    from chalicelib.domain.models import Role
    from chalicelib.services.identity import Caller

    return container.access.authorize(Caller(email, "FR"), subscription_id, role=Role.ADMIN, active=active)


def activate(stack: Stack, subscription_id: str, email: str = ADMIN, user_agent: str = "test") -> None:
    """Activation in the portal through the service, for tests whose subject comes after it."""
    from chalicelib.services.identity import RequestContext

    c = stack.container
    c.activation.activate_in_portal(
        as_admin(c, email, subscription_id, active=False),
        accepted=True,
        agreement_version="FR-fr-2026.1",
        context=RequestContext("1.1.1.1", user_agent),
    )


def order(**changes: Any) -> dict[str, Any]:
    """The sample order with `changes`; an order placed in another country gets a buyer there, unless the changes
    name the customer (see `customer`)."""
    message = copy.deepcopy(ORDER)
    if "country" in changes and "customer" not in changes and isinstance(changes["country"], str):
        message["customer"] = sample_customer(changes["country"])
    for key, value in changes.items():
        if value is DELETE:
            message.pop(key, None)
        else:
            message[key] = value
    return message


DELETE = object()


def customer(country: str = "FR", **changes: Any) -> dict[str, Any]:
    """A complete sample customer (address, and the identifiers its country needs) with `changes`."""
    return sample_customer(country, **changes)


class TokenIssuer:
    def __init__(self, kid: str = "test-key") -> None:
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=self.kid, use="sig", alg="RS256")
        return {"keys": [public]}

    def token(self, email_address: str, country: str, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "email": email_address,
            "email_verified": True,
            "custom:country": country,
            "iat": now,
            "exp": now + 3600,
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": self.kid})

    def bearer(self, email_address: str, country: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(email_address, country, **claims)}"}


_ISSUER: TokenIssuer | None = None
_ISSUER_LOCK = threading.Lock()


def shared_issuer() -> TokenIssuer:
    """RSA key generation is slow; one key serves the whole session."""
    global _ISSUER
    with _ISSUER_LOCK:
        if _ISSUER is None:
            _ISSUER = TokenIssuer()
        return _ISSUER


def env_for(jwks_path: Path, secret_arn: str) -> dict[str, str]:
    return app_env(
        table=TABLE,
        region=REGION,
        sender=SENDER,
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_url=jwks_path.as_uri(),
        link_secret_arn=secret_arn,
        invoice_bucket=INVOICE_BUCKET,
    )


JOB_DISPATCHERS = {
    "process_renewals": lambda c: c.renewals.dispatch_due,
    "send_reminders": lambda c: c.reminders.dispatch_due,
}


@dataclass
class Stack:
    container: Container
    clock: FixedClock
    issuer: TokenIssuer
    ddb: Any
    calls: list[str] = field(default_factory=list)

    def work_consumer(self) -> Any:
        """The job_worker function fed by the work queue, as Lambda's event source mapping runs it (no thread: call
        `drain`). A message that fails is visible again at once (visibility timeout 0 here) until its 5th receive."""
        from app import job_worker
        from devstack.queues import WORK, QueueConsumer, existing_queues

        sqs = shared_session().client("sqs", region_name=REGION)
        return QueueConsumer(sqs, existing_queues(sqs, WORK), job_worker, REGION, "work")

    def run_job(self, name: str, budget: float | Any = 900.0, **kwargs: Any) -> dict[str, Any]:
        """A scheduled job as it runs in AWS: its run queues the work (the summary), then the job_worker function
        does every item; the counts the workers reported are added to the summary."""
        from devstack.queues import worker_counts

        time_left = budget if callable(budget) else (lambda: budget)
        summary: dict[str, Any] = JOB_DISPATCHERS[name](self.container)(time_left, **kwargs).as_dict()
        with worker_counts(self.container.workers) as done:  # this thread's drain only: parallel runs count apart
            summary["work_messages"] = self.work_consumer().drain()
        return {**summary, **done}

    @property
    def subscriptions(self) -> SubscriptionStore:
        return self.container.subscriptions

    def sent(self) -> list[Message]:
        from moto.ses.models import ses_backends

        return [parse_mail(m.raw_data) for m in ses_backends[ACCOUNT][REGION].sent_messages]

    def mails_to(self, address: str) -> list[Message]:
        return [m for m in self.sent() if m["To"] == address]


def parse_mail(raw: str | bytes) -> Message:
    return email.message_from_bytes(raw.encode() if isinstance(raw, str) else raw, policy=email.policy.default)


_SESSION: boto3.session.Session | None = None


def shared_session() -> boto3.session.Session:
    """One botocore session for the test run: loading the service models anew for every test costs ~0.4 s."""
    global _SESSION
    with _ISSUER_LOCK:
        if _SESSION is None:
            _SESSION = boto3.session.Session()
        return _SESSION


def provision(tmp_path: Path) -> tuple[dict[str, str], Any]:
    """Creates the table (from infra), the SES identity, the link secret and the work queue (from infra) inside an
    active mock_aws."""
    from devstack.queues import WORK, create_queues

    session = shared_session()
    work = create_queues(session.client("sqs", region_name=REGION), 0, spec=WORK)
    ddb = session.client("dynamodb", region_name=REGION)
    create_table(ddb, TABLE)
    session.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
    create_invoice_bucket(session.client("s3", region_name=REGION), INVOICE_BUCKET)
    secret = session.client("secretsmanager", region_name=REGION).create_secret(
        Name="link-secret", SecretString="x" * 48
    )
    jwks_path = tmp_path / "jwks.json"
    jwks_path.write_text(json.dumps(shared_issuer().jwks()))
    return {**env_for(jwks_path, secret["ARN"]), "WORK_QUEUE_URL": work.url}, ddb


def text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text part")


def html_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no html part")


def activation_link(message: Message) -> str:
    import re

    match = re.search(r"https?://\S+/activate/([A-Za-z0-9_-]{43})", text_part(message))
    assert match, "no activation link in the email"
    return match.group(0)


def token_of(message: Message) -> str:
    return activation_link(message).rsplit("/", 1)[1]




def out_of_time_after_first_page(stack: Stack, monkeypatch: Any) -> Callable[[], float]:
    """A job's time budget that runs out once the job has queued its first page of work, whichever shards the random
    ids landed in (a fixed count of time checks can all fall on empty shards). Only that first run is counted."""
    queue = stack.container.work_queue
    real_enqueue = queue.enqueue
    enqueued: list[int] = []

    def counting_enqueue(*args: Any, **kwargs: Any) -> int:
        enqueued.append(1)
        monkeypatch.setattr(queue, "enqueue", real_enqueue)  # later runs queue as usual
        return real_enqueue(*args, **kwargs)

    monkeypatch.setattr(queue, "enqueue", counting_enqueue)
    return lambda: 0.0 if enqueued else 900.0
