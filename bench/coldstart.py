"""Cold start: fresh interpreters, provisioning outside the timed section, the app against the chalice+boto3 floor."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.issuer import Issuer
from bench.provision import REGION
from bench.report import Report

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
TARGET_RATIO = 1.5
CALLER = "marie.dupont@example.fr"


@dataclass
class Samples:
    mode: str
    runs: list[dict[str, Any]] = field(default_factory=list)

    def values(self, key: str) -> list[float]:
        return [float(r[key]) for r in self.runs]

    def median(self, key: str = "total_ms") -> float:
        return statistics.median(self.values(key))

    def min(self, key: str = "total_ms") -> float:
        return min(self.values(key))


def _child(mode: str, config: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench._child", mode, str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=_child_env(),
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            result: dict[str, Any] = json.loads(line[len("BENCH_RESULT ") :])
            return result
    raise RuntimeError(f"cold-start child {mode} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def _child_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}


def _seed_items() -> list[dict[str, Any]]:
    """The caller's subscriptions and some of other people's, built by the adapter here (not in the child)."""
    from bench.seed import items_of, subscription

    now = datetime.now(UTC).replace(microsecond=0)
    items: list[dict[str, Any]] = []
    for n in range(3):
        items += items_of(subscription(n, CALLER, "FR", now - timedelta(days=30 + n), active=True))
    items += items_of(subscription(3, CALLER, "FR", now - timedelta(days=2)))
    for n in range(10, 20):
        items += items_of(subscription(n, f"other{n}@example.fr", "FR", now - timedelta(days=n)))
    return items


def run(report: Report, workdir: Path) -> list[str]:
    report.section("1. Cold start (fresh interpreter per sample; moto import and provisioning not timed)")
    issuer = Issuer()
    config = workdir / "coldstart.json"
    config.write_text(
        json.dumps(
            {
                "region": REGION,
                "jwks": str(issuer.write_jwks(workdir / "jwks.json")),
                "token": issuer.token(CALLER, "FR"),
                "items": _seed_items(),
            }
        )
    )
    samples = {mode: Samples(mode) for mode in ("app", "floor", "floor-bare")}
    for mode in samples:  # one discarded warm-up each: fills __pycache__ and the OS file cache
        _child(mode, config)
    for _ in range(RUNS):
        for mode, bucket in samples.items():
            bucket.runs.append(_child(mode, config))

    app, floor, bare = samples["app"], samples["floor"], samples["floor-bare"]
    statuses = sorted({(r["status"], r["second_status"], r["items"]) for r in app.runs})
    if statuses != [(200, 200, 4)]:
        report.line(f"!! the first request did not answer 200 with the 4 seeded subscriptions: {statuses}")

    rows = [
        ["(a) import app + first GET /subscriptions", f"{app.median():.1f}", f"{app.min():.1f}",
         f"{statistics.median(r['modules'] for r in app.runs):.0f}"],
        ["      of which: import app", f"{app.median('import_ms'):.1f}", f"{app.min('import_ms'):.1f}", ""],
        ["      of which: first request", f"{app.median('request_ms'):.1f}", f"{app.min('request_ms'):.1f}", ""],
        ["      (second, warm request, not counted)", f"{app.median('warm_request_ms'):.1f}",
         f"{app.min('warm_request_ms'):.1f}", ""],
        ["(b) floor: import chalice + boto3, dynamodb client", f"{floor.median():.1f}", f"{floor.min():.1f}",
         f"{statistics.median(r['modules'] for r in floor.runs):.0f}"],
        ["(c) floor without moto preloaded (boto3 import counted)", f"{bare.median():.1f}", f"{bare.min():.1f}",
         f"{statistics.median(r['modules'] for r in bare.runs):.0f}"],
    ]
    report.table(["measurement", "median ms", "min ms", "new modules"], rows)
    ratio_median = app.median() / floor.median()
    ratio_min = app.min() / floor.min()
    verdict = "within" if ratio_median <= TARGET_RATIO else "OVER"
    report.line(
        f"ratio (a)/(b): {ratio_median:.2f}x by median, {ratio_min:.2f}x by min; target at most {TARGET_RATIO}x "
        f"-> {verdict} target"
    )
    moto_free = app.median() - app.median("warm_request_ms")
    report.line(
        f"without moto's per-request cost (a warm request, ~90% of it inside moto): {moto_free:.1f} ms = "
        f"{moto_free / floor.median():.2f}x the floor"
    )
    with_boto3 = app.median() + bare.median() - floor.median()
    report.line(
        f"estimate with boto3's own import counted too, (a) + (c) - (b): {with_boto3:.1f} ms vs (c) "
        f"{bare.median():.1f} ms = {with_boto3 / bare.median():.2f}x"
    )
    preloaded = ", ".join(app.runs[0]["preloaded"])
    report.line(f"{RUNS} samples each, interleaved, after one discarded warm-up. Already imported by moto and the")
    report.line(f"provisioning before the timed section in (a) and (b): {preloaded}.")
    steps = _child("breakdown", config)["steps"]
    report.line("")
    report.table(
        ["(d) where (a) goes, step by step (one sample; each step only pays what earlier ones did not)", "ms"],
        [[label, f"{ms:.1f}"] for label, ms in steps],
    )
    return [
        f"cold start: {app.median():.0f} ms (import app + first GET /subscriptions) vs floor {floor.median():.0f} ms "
        f"= {ratio_median:.2f}x (target <= {TARGET_RATIO}x): {verdict}"
    ]
