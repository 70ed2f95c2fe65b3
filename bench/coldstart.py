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

from bench._child import HEAVY, LAZY
from bench.issuer import Issuer
from bench.provision import REGION
from bench.report import Report

ROOT = Path(__file__).resolve().parent.parent
RUNS = 9
TARGET_RATIO = 1.5
IO_TARGET_RATIO = 1.25  # the app against the floor making the same DynamoDB calls (issue 8)
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


def _moto_server_env(jwks: Path, items: list[dict[str, Any]]) -> tuple[Any, dict[str, str]]:
    """A moto server in this process, provisioned and seeded, for children that must not import moto themselves."""
    import logging
    import os

    import boto3
    from moto.server import ThreadedMotoServer

    from bench.provision import batch_write, provision

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        env = provision(jwks)
        client = boto3.client("dynamodb", region_name=REGION)
        batch_write(client, items)
        from bench._child import _warm_moto

        _warm_moto(client, env["TABLE_NAME"])
    finally:
        if saved is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = saved
    credentials = {k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if k in os.environ}
    return server, {**env, **credentials, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}


def run(report: Report, workdir: Path) -> list[str]:
    report.section("1. Cold start (fresh interpreter per sample; provisioning not timed)")
    issuer = Issuer()
    config = workdir / "coldstart.json"
    jwks = issuer.write_jwks(workdir / "jwks.json")
    items = _seed_items()
    server, server_env = _moto_server_env(jwks, items)
    config.write_text(
        json.dumps(
            {
                "region": REGION,
                "jwks": str(jwks),
                "token": issuer.token(CALLER, "FR"),
                "items": items,
                "env": server_env,
            }
        )
    )
    try:
        return _run(report, config)
    finally:
        server.stop()


def _run(report: Report, config: Path) -> list[str]:
    # The fairer floor replays the DynamoDB calls the app makes for this request: record them once, untimed.
    settings = json.loads(config.read_text())
    settings["io_calls"] = _child("record-io", config)["calls"]
    config.write_text(json.dumps(settings))
    samples = {mode: Samples(mode) for mode in ("app-fresh", "floor-bare", "floor-io", "app", "floor")}
    for mode in samples:  # one discarded warm-up each: fills __pycache__ and the OS file cache
        _child(mode, config)
    for _ in range(RUNS):
        for mode, bucket in samples.items():
            bucket.runs.append(_child(mode, config))

    app, floor, bare, fresh = samples["app"], samples["floor"], samples["floor-bare"], samples["app-fresh"]
    io = samples["floor-io"]
    if sorted({(r["status"], r["calls"]) for r in io.runs}) != [(200, len(settings["io_calls"]))]:
        report.line(f"!! the I/O floor did not replay the app's calls: {[(r['status'], r['calls']) for r in io.runs]}")
    io_ratio = fresh.median() / io.median()
    io_verdict = "within" if io_ratio <= IO_TARGET_RATIO else "OVER"
    for bucket in (app, fresh):
        statuses = sorted({(r["status"], r["second_status"], r["items"]) for r in bucket.runs})
        if statuses != [(200, 200, 4)]:
            report.line(f"!! the first request did not answer 200 with the 4 seeded subscriptions: {statuses}")
    fresh_ratio = fresh.median() / bare.median()
    fresh_verdict = "within" if fresh_ratio <= TARGET_RATIO else "OVER"
    report.table(
        ["headline: nothing preloaded, AWS = moto server in another process", "median ms", "min ms", "new modules"],
        [
            ["(A) import app + first GET /subscriptions (boto3 import counted)", f"{fresh.median():.1f}",
             f"{fresh.min():.1f}", f"{statistics.median(r['modules'] for r in fresh.runs):.0f}"],
            ["      of which: import app", f"{fresh.median('import_ms'):.1f}", f"{fresh.min('import_ms'):.1f}", ""],
            ["      of which: first request (2 DynamoDB calls over HTTP)", f"{fresh.median('request_ms'):.1f}",
             f"{fresh.min('request_ms'):.1f}", ""],
            ["(B) floor: import chalice + boto3, create the dynamodb client", f"{bare.median():.1f}",
             f"{bare.min():.1f}", f"{statistics.median(r['modules'] for r in bare.runs):.0f}"],
            [f"(C) I/O floor: minimal Chalice route making the app's {len(settings['io_calls'])} DynamoDB calls "
             "with a plain client", f"{io.median():.1f}", f"{io.min():.1f}",
             f"{statistics.median(r['modules'] for r in io.runs):.0f}"],
        ],
    )
    report.line(
        f"ratio (A)/(B): {fresh_ratio:.2f}x by median, {fresh.min() / bare.min():.2f}x by min; target at most "
        f"{TARGET_RATIO}x -> {fresh_verdict} target"
    )
    report.line(
        f"ratio (A)/(C): {io_ratio:.2f}x by median, {fresh.min() / io.min():.2f}x by min; target at most "
        f"{IO_TARGET_RATIO}x -> {io_verdict} target (same I/O on both sides: what remains is the app's own imports, "
        f"token check, models and adapters; calls: {', '.join(op for op, _ in settings['io_calls'])})"
    )
    imported = sorted({m for r in fresh.runs for m in r.get("imported", [])})
    report.line(f"imported by (A), of {', '.join((*HEAVY, *LAZY))}: {', '.join(imported) or 'none'}")
    report.line("")
    report.line("in-process moto variant (moto preloads boto3, botocore and cryptography, so neither side pays them;")
    report.line("the first request's moto work lands on the app's side only):")

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
        f"cold start: {fresh.median():.0f} ms (import app + first GET /subscriptions) vs floor {bare.median():.0f} ms "
        f"= {fresh_ratio:.2f}x (target <= {TARGET_RATIO}x): {fresh_verdict}; vs the same-I/O floor "
        f"{io.median():.0f} ms = {io_ratio:.2f}x (target <= {IO_TARGET_RATIO}x): {io_verdict}; in-process moto variant "
        f"{app.median():.0f} vs {floor.median():.0f} ms = {ratio_median:.2f}x"
    ]
