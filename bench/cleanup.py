"""Cleanup efficiency: items the hourly cleanup reads against items it removes, with 10,000 live subscriptions."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto import mock_aws

from bench.issuer import Issuer
from bench.moto_speedups import fast_moto, no_item_size_check
from bench.provision import ACCOUNT, REGION, TABLE, batch_write, provision
from bench.recorder import Call, CountingContainer, Recorder
from bench.report import Report
from bench.seed import items_of, order_message, subscription
from chalicelib import jobs
from chalicelib.adapters.clock import FixedClock
from chalicelib.services.cleanup import Cleanup

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
LIVE_PENDING = 9_000
LIVE_ACTIVE = 1_000
EXPIRED = 100
PAGE = 100  # Cleanup.remove_unactivated's default page size


def _seed_live() -> tuple[int, int, float, float]:
    started = time.perf_counter()
    items: list[dict[str, Any]] = []
    for n in range(LIVE_PENDING):  # deadlines from 1 to 90 days ahead
        items += items_of(subscription(n, f"pending{n}@example.fr", "FR", NOW - timedelta(days=n % 90, hours=-1)))
    for n in range(LIVE_ACTIVE):  # activated long ago: their activation deadlines are long past
        ordered = NOW - timedelta(days=100 + n % 300)
        items += items_of(subscription(LIVE_PENDING + n, f"active{n}@example.de", "DE", ordered, active=True))
    built = time.perf_counter()
    client = boto3.client("dynamodb", region_name=REGION, config=Config(parameter_validation=False))
    with no_item_size_check():
        calls = batch_write(client, items)
    return len(items), calls, built - started, time.perf_counter() - built


def _seed_expired(container: CountingContainer, clock: FixedClock) -> float:
    """Through the intake (what the SQS handler runs), with the clock at each order's time, 100 days before now."""
    started = time.perf_counter()
    for n in range(EXPIRED):
        ordered = NOW - timedelta(days=100, minutes=-7 * n)
        clock.moment = ordered + timedelta(minutes=5)
        result = jobs.receive_order(order_message(f"X-{n:06d}", f"late{n}@example.fr", ordered), container=container)
        if not result.created:
            raise RuntimeError(f"the expired order {n} was not created: {result}")
    return time.perf_counter() - started


def _items_by_kind() -> Counter[str]:
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[ACCOUNT][REGION].tables[TABLE]
    kinds: Counter[str] = Counter()
    for by_range in table.items.values():
        for item in by_range.values():
            kinds[item.attrs["type"].value] += 1
            if item.attrs["type"].value == "subscription":
                kinds["sub:" + item.attrs["status"].value] += 1
    return kinds


def _tally(calls: list[Call]) -> dict[str, Any]:
    t: Counter[str] = Counter()
    for c in calls:
        if c.service != "dynamodb":
            t[f"other:{c.service}:{c.operation}"] += 1
            continue
        t[f"calls:{c.operation}"] += 1
        p = c.parsed
        if c.operation == "Query":
            where = "index" if c.params.get("IndexName") else "partition"
            t[f"{where}:calls"] += 1
            t[f"{where}:scanned"] += int(p.get("ScannedCount", 0))
            t[f"{where}:count"] += int(p.get("Count", 0))
        elif c.operation == "GetItem":
            t["get:calls"] += 1
            t["get:items"] += 1 if p.get("Item") else 0
        elif c.operation == "BatchGetItem":
            t["get:calls"] += 1
            t["get:items"] += sum(len(v) for v in p.get("Responses", {}).values())
        elif c.operation == "Scan":
            t["scan:calls"] += 1
            t["scan:scanned"] += int(p.get("ScannedCount", 0))
        elif c.operation == "TransactWriteItems":
            ops = Counter(next(iter(i)) for i in c.params.get("TransactItems", []))
            if c.status == 200:
                t["tx:committed"] += 1
                t["tx:deleted"] += ops["Delete"]
                t["tx:put"] += ops["Put"]
            else:
                t["tx:cancelled"] += 1
    return dict(t)


def run(report: Report, workdir: Path) -> list[str]:
    report.section(
        f"3. Cleanup efficiency ({LIVE_PENDING + LIVE_ACTIVE:,} live subscriptions, {EXPIRED} expired pending)"
    )
    jwks = Issuer().write_jwks(workdir / "jwks-cleanup.json")
    with mock_aws(), fast_moto():
        env = provision(jwks)
        clock = FixedClock(NOW)
        container = CountingContainer(env, clock, Recorder())
        expired_s = _seed_expired(container, clock)
        n_items, n_calls, build_s, write_s = _seed_live()
        clock.moment = NOW
        before = _items_by_kind()

        container.recorder.reset()
        started = time.perf_counter()
        summary = Cleanup(container.cleanup_store, clock).remove_unactivated(lambda: 900.0)
        cleanup_s = time.perf_counter() - started
        t = _tally(container.recorder.calls)
        after = _items_by_kind()

    report.line(
        f"seeding (not part of any figure): {LIVE_PENDING:,} pending (deadline 1-90 days ahead) + {LIVE_ACTIVE:,} "
        f"active = {n_items:,} items"
    )
    report.line(
        f"  built with the adapter's item builders in {build_s:.1f} s, written by {n_calls} BatchWriteItem calls in "
        f"{write_s:.1f} s;"
    )
    report.line(f"  {EXPIRED} expired pending created through the intake, clock 100 days back, in {expired_s:.1f} s")
    report.line(f"Cleanup.remove_unactivated: {summary.as_dict()} in {cleanup_s:.2f} s (moto)")

    removed = summary.removed
    read = t.get("index:scanned", 0) + t.get("partition:scanned", 0) + t.get("get:items", 0) + t.get("scan:scanned", 0)
    rows = [
        ["Query pending_by_deadline index (INCLUDE)", t.get("index:calls", 0), t.get("index:scanned", 0),
         t.get("index:count", 0)],
        ["Query SUB#<id> partition (ConsistentRead)", t.get("partition:calls", 0), t.get("partition:scanned", 0),
         t.get("partition:count", 0)],
        ["GetItem / BatchGetItem", t.get("get:calls", 0), t.get("get:items", 0), t.get("get:items", 0)],
        ["Scan", t.get("scan:calls", 0), t.get("scan:scanned", 0), "-"],
        ["total read", sum(v for k, v in t.items() if k.endswith(":calls") and not k.startswith("tx")), read, ""],
    ]
    report.table(["reads", "calls", "items read (ScannedCount)", "items returned (Count)"], rows)
    report.line(
        f"writes: {t.get('tx:committed', 0)} TransactWriteItems committed ({t.get('tx:cancelled', 0)} cancelled); "
        f"they deleted {t.get('tx:deleted', 0)} items and put {t.get('tx:put', 0)} order tombstones"
    )
    others = {k: v for k, v in t.items() if k.startswith("other:")}
    if others:
        report.line(f"other AWS calls: {others}")
    target = 2 * removed + PAGE
    ratio = read / removed if removed else float("inf")
    verdict = "within" if read <= target else "OVER"
    report.line(
        f"items read / subscriptions removed = {read} / {removed} = {ratio:.2f}; target at most 2 x removed + one page "
        f"({PAGE}) = {target} -> {verdict} target"
    )
    report.line(
        f"items read per live subscription: {read / (LIVE_PENDING + LIVE_ACTIVE):.3f} (0 would mean the live "
        "ones are never touched)"
    )
    kinds = sorted(set(before) | set(after))
    report.line(
        "table items before -> after, by type: "
        + ", ".join(f"{k} {before.get(k, 0):,} -> {after.get(k, 0):,}" for k in kinds if not k.startswith("sub:"))
    )
    live_after = after.get("sub:pending_activation", 0) + after.get("sub:active", 0)
    if removed != EXPIRED or live_after != LIVE_PENDING + LIVE_ACTIVE:
        report.line(f"!! expected {EXPIRED} removed and {LIVE_PENDING + LIVE_ACTIVE} live left; got {removed} and "
                    f"{live_after}")
    return [
        f"cleanup: read {read} items to remove {removed} subscriptions among {LIVE_PENDING + LIVE_ACTIVE:,} live "
        f"(target <= {target}): {verdict}"
    ]
