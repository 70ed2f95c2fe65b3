"""Renewal job efficiency (DESIGN 14.7): items process_renewals reads against the subscriptions that are due, with
10,000 live subscriptions of which 100 are due, and DynamoDB calls per renewal."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto import mock_aws

from bench.cleanup import _tally
from bench.issuer import Issuer
from bench.moto_speedups import fast_moto, no_item_size_check
from bench.provision import REGION, batch_write, provision
from bench.recorder import CountingContainer, Recorder
from bench.report import Report
from bench.seed import items_of, subscription
from chalicelib.adapters.clock import FixedClock

NOW = datetime(2027, 11, 26, 5, 0, tzinfo=UTC)
LIVE_NOT_DUE = 9_900
DUE = 100
PAGE = 100  # Renewals.process_due's default page size


def _seed() -> tuple[int, float]:
    started = time.perf_counter()
    items: list[dict[str, Any]] = []
    for n in range(LIVE_NOT_DUE):  # activated 1 to 300 days ago: they renew within the next year
        ordered = NOW - timedelta(days=2 + n % 300)
        items += items_of(subscription(n, f"live{n}@example.fr", "FR", ordered, active=True))
    for n in range(DUE):  # activated 12 months and 1 to 5 days ago: due today or a few days behind
        ordered = NOW - timedelta(days=367 + n % 5)
        items += items_of(subscription(LIVE_NOT_DUE + n, f"due{n}@example.fr", "FR", ordered, active=True))
    client = boto3.client("dynamodb", region_name=REGION, config=Config(parameter_validation=False))
    with no_item_size_check():
        batch_write(client, items)
    return len(items), time.perf_counter() - started


def run(report: Report, workdir: Path) -> list[str]:
    report.section(f"5. Renewal job ({LIVE_NOT_DUE + DUE:,} live active subscriptions, {DUE} due)")
    jwks = Issuer().write_jwks(workdir / "jwks-renewals.json")
    # Renewals commit Update operations, for which bench/moto_speedups keeps moto's deep copy of the whole table per
    # transaction item (seconds each at 20,000 items); the tests' undo-log rollback undoes exactly what was written.
    from devstack import moto_lock

    moto_lock.install()
    with mock_aws(), fast_moto():
        env = provision(jwks)
        clock = FixedClock(NOW)
        container = CountingContainer(env, clock, Recorder())
        container.label_email_phase()
        n_items, seed_s = _seed()
        container.recorder.reset()
        started = time.perf_counter()
        summary = container.renewals.process_due(lambda: 900.0)
        job_s = time.perf_counter() - started
        job_calls = [c for c in container.recorder.calls if c.phase != "email"]
        email_calls = [c for c in container.recorder.calls if c.phase == "email"]
        t = _tally(job_calls)
        by_operation = Counter(f"{c.service}:{c.operation}" for c in job_calls)
        email_ops = Counter(f"{c.service}:{c.operation}" for c in email_calls)
        again = container.renewals.process_due(lambda: 900.0).as_dict()

    report.line(f"seeding (not part of any figure): {n_items:,} items by BatchWriteItem in {seed_s:.1f} s")
    report.line(f"Renewals.process_due: {summary.as_dict()} in {job_s:.2f} s (moto); a second run: {again}")
    read = t.get("index:scanned", 0) + t.get("partition:scanned", 0) + t.get("get:items", 0) + t.get("scan:scanned", 0)
    renewed = summary.invoices + summary.ended
    target = 3 * DUE + PAGE
    verdict = "within" if read <= target and renewed == DUE else "OVER"
    rows = [
        ["Query active_by_renewal index (KEYS_ONLY)", t.get("index:calls", 0), t.get("index:scanned", 0)],
        ["GetItem (subscription, invoice counter)", t.get("get:calls", 0), t.get("get:items", 0)],
        ["Scan", t.get("scan:calls", 0), t.get("scan:scanned", 0)],
    ]
    report.table(["reads", "calls", "items read"], rows)
    report.line(
        f"items read / subscriptions due = {read} / {DUE}; target at most 3 x due + one page ({PAGE}) = {target} "
        f"-> {verdict}"
    )
    dynamo = {k: v for k, v in by_operation.items() if k.startswith("dynamodb:")}
    per_renewal = sum(dynamo.values()) / renewed if renewed else float("inf")
    report.line(
        "DynamoDB calls by the job (the email excluded): "
        + ", ".join(f"{k.split(':')[1]} {v}" for k, v in sorted(dynamo.items()))
        + f" = {per_renewal:.2f} per renewal (one index page per {PAGE} due, then GetItem subscription, GetItem "
        "series counter, one TransactWriteItems)"
    )
    report.line(
        f"the invoice emails sent at once: {dict(email_ops)} ({sum(email_ops.values()) / renewed:.1f} calls per "
        "renewal, the outbox's SES send and mark_sent)"
    )
    return [
        f"renewals: read {read} items for {DUE} due among {LIVE_NOT_DUE + DUE:,} live (target <= {target}): "
        f"{verdict}; {per_renewal:.2f} DynamoDB calls per renewal"
    ]
