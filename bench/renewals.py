"""Renewal job efficiency (DESIGN 14.7) through the fan-out: 10,000 live subscriptions of which 1,000 are due;
process_renewals lists and queues them, the job_worker function renews them. Items read, DynamoDB and SQS calls per
renewal, each side apart."""

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
from bench.fanout import fan_out, metric_total, quiet_telemetry, with_work_queue
from bench.issuer import Issuer
from bench.moto_speedups import fast_moto, no_item_size_check
from bench.provision import REGION, batch_write, provision
from bench.recorder import CountingContainer, Recorder
from bench.report import Report
from bench.seed import items_of, subscription
from chalicelib.adapters.clock import FixedClock

NOW = datetime(2027, 11, 26, 5, 0, tzinfo=UTC)
LIVE_NOT_DUE = 9_000
DUE = 1_000
PAGE = 250  # Renewals.dispatch_due's default page size


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
    report.section(f"5. Renewal job through the fan-out ({LIVE_NOT_DUE + DUE:,} live active subscriptions, {DUE} due)")
    jwks = Issuer().write_jwks(workdir / "jwks-renewals.json")
    # Renewals commit Update operations, for which bench/moto_speedups keeps moto's deep copy of the whole table per
    # transaction item (seconds each at 20,000 items); the tests' undo-log rollback undoes exactly what was written.
    from devstack import moto_lock

    moto_lock.install()
    with mock_aws(), fast_moto():
        env = with_work_queue(provision(jwks))
        clock = FixedClock(NOW)
        container = CountingContainer(env, clock, Recorder())
        emitted = quiet_telemetry(container)
        container.label_email_phase()
        n_items, seed_s = _seed()
        run = fan_out(container, container.renewals.dispatch_due)
        container.telemetry.flush()
        renewed = int(metric_total(emitted, "SubscriptionsRenewed"))
        invoices = int(metric_total(emitted, "InvoicesIssued"))
        again = fan_out(container, container.renewals.dispatch_due)

    report.line(f"seeding (not part of any figure): {n_items:,} items by BatchWriteItem in {seed_s:.1f} s")
    report.line(
        f"process_renewals (the scheduled run): {run.summary} in {run.dispatch_s:.2f} s; job_worker: {run.messages} "
        f"messages in {run.work_s:.1f} s (moto, one worker, invoice PDFs rendered and stored); a second run: "
        f"{again.summary}, {again.messages} messages"
    )
    d, w = _tally(run.dispatch_calls), _tally([c for c in run.worker_calls if c.phase != "email"])
    email_ops = Counter(f"{c.service}:{c.operation}" for c in run.worker_calls if c.phase == "email")
    worker_ops = Counter(f"{c.service}:{c.operation}" for c in run.worker_calls if c.phase != "email")
    dispatch_ops = Counter(f"{c.service}:{c.operation}" for c in run.dispatch_calls)
    mapping_ops = Counter(f"{c.service}:{c.operation}" for c in run.mapping_calls)
    read_dispatch = d.get("index:scanned", 0)
    read_worker = w.get("get:items", 0) + w.get("partition:scanned", 0) + w.get("index:scanned", 0)
    rows = [
        ["scheduled run: Query active_by_renewal (KEYS_ONLY), every shard", d.get("index:calls", 0), read_dispatch],
        ["worker: GetItem (subscription, series counter)", w.get("get:calls", 0), w.get("get:items", 0)],
        ["worker: Scan / Query", w.get("scan:calls", 0) + w.get("partition:calls", 0),
         w.get("scan:scanned", 0) + w.get("partition:scanned", 0)],
    ]  # fmt: skip
    report.table(["reads", "calls", "items read"], rows)
    per = DUE or 1
    dynamo = sum(v for k, v in (dispatch_ops + worker_ops).items() if k.startswith("dynamodb:"))
    sqs = sum(v for k, v in (dispatch_ops + mapping_ops).items() if k.startswith("sqs:"))
    target = 3 * DUE + PAGE * 8
    verdict = "within" if read_dispatch + read_worker <= target and renewed == invoices == DUE else "OVER"
    report.line(
        f"items read per renewal: {read_dispatch / per:.2f} by the scheduled run + {read_worker / per:.2f} by the "
        f"worker = {(read_dispatch + read_worker) / per:.2f}; {renewed} renewed, {invoices} invoices (target at "
        f"most 3 per due + one page per shard: {target}) -> {verdict}"
    )
    report.line(
        f"DynamoDB calls per renewal: {dynamo / per:.2f} ("
        + ", ".join(f"{k.split(':')[1]} {v}" for k, v in sorted((dispatch_ops + worker_ops).items()) if "dynamodb" in k)
        + ")"
    )
    report.line(
        f"SQS requests per renewal: {sqs / per:.3f} (scheduled run: "
        + ", ".join(f"{k.split(':')[1]} {v}" for k, v in sorted(dispatch_ops.items()) if "sqs" in k)
        + "; event source mapping: "
        + ", ".join(f"{k.split(':')[1]} {v}" for k, v in sorted(mapping_ops.items()))
        + f"); {run.summary['messages']} messages of up to 25 items"
    )
    report.line(
        f"the invoice emails sent at once (the PDF rendered, kept in S3 and attached): {dict(email_ops)} "
        f"({sum(email_ops.values()) / per:.1f} calls per renewal)"
    )
    return [
        f"renewals through the fan-out: {DUE} due among {LIVE_NOT_DUE + DUE:,} live, {renewed} renewed; "
        f"{(read_dispatch + read_worker) / per:.2f} items read, {dynamo / per:.2f} DynamoDB calls and "
        f"{sqs / per:.3f} SQS requests per renewal ({verdict})"
    ]
