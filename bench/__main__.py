"""The benchmark report (`make bench` = `.venv/bin/python -m bench`; DESIGN section 12). A report, not a test: it
prints figures against the design's targets and exits 0; it exits 1 only when a measurement could not run at all.
Everything runs on moto in this machine; the only network use is `chalice package` fetching Lambda wheels.

What each figure means:

1. Cold start. Each sample is a fresh interpreter (`python -m bench._child`) that first starts moto and provisions
   the table (from infra/resources.json), the SES identity, the link secret and a file:// JWKS, untimed. Then it
   times (a) `import app` plus the first `GET /subscriptions` with a valid bearer token, served by the real Lambda
   entry point `app.app(event, context)` with an API Gateway proxy event, and (b) the floor: importing chalice and
   boto3 and creating the one client that request needs (DynamoDB), nothing else. Median and min of 5 samples each,
   in ms, and the ratio (a)/(b) against the target of at most 1.5x. Because moto imports boto3 and botocore before
   the timed section, (a) and (b) exclude boto3's own import; (c) is the floor in a bare interpreter, boto3 import
   included, for reference. The first request's time includes moto serving it in-process (no network; moto's one-time
   serializer set-up is done before the timer starts). The warm second request shows moto's per-request share, and
   (d) is one extra sample timed step by step: which imports and which first-request work the cold start pays for.
   The headline runs nothing preloaded against a moto server in another process: (A) the app, (B) the bare floor and
   (C) the same-I/O floor, a minimal Chalice route making the app's recorded DynamoDB calls with a plain client;
   target (A)/(C) at most 1.25x by median. It also lists which heavy modules (A) imported (pydantic: none).
2. DynamoDB calls per route: botocore API calls counted on the app's own clients (event hooks), per route, through
   chalice.test.Client and the SQS handler, in a warm container, at two data sizes (caller with 1 vs 50 subscriptions,
   table with 10 vs 500 other subscriptions). After a state change the route delivers its email at once: that SES
   send and the outbox's mark_sent UpdateItem are reported apart as "the email". Targets: list <= 3, detail <= 2,
   activation <= 3 + the email; every count should be the same at both sizes.
3. Cleanup efficiency: 10,000 live subscriptions (9,000 pending with deadlines ahead, 1,000 active) seeded by
   BatchWriteItem with the adapter's own item builders, plus 100 expired pending ones created through the intake with
   a clock 100 days back. cleanup_unactivated then runs; "items read" is the sum of ScannedCount of its Queries, GetItem
   hits and BatchGetItem items, set against the subscriptions removed (and the items its transactions deleted). Target:
   items read <= 2 x removed + one page (100). Seeding time is reported separately; moto's own bookkeeping is sped up
   for this scenario only (bench/moto_speedups.py; requests and responses are unchanged).
4. Package size: `chalice package --stage prod --merge-template infra/resources.json` into a temporary directory;
   deployment.zip size zipped and unzipped, its file count and its largest entries.
5. Renewal job: 10,000 live active subscriptions seeded like (3), 100 of them due (renewal date today or a few days
   behind). process_renewals runs; items read (index ScannedCount + GetItem hits) against the due ones, target
   <= 3 x due + one page; DynamoDB calls per renewal (the invoice email's SES send and mark_sent reported apart).
6. Invoice PDF: import cost of the PDF/XML stack and render times (bench/invoice_pdf.py).
7. E-invoice documents: per document type (invoice, credit note) and syntax (CII in Factur-X, UBL Peppol BIS 3.0),
   the XML, the stored documents and the validation with the official rules, timed (bench/einvoice.py).
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.provision import fake_credentials
from bench.report import Report


def main() -> int:
    started = time.perf_counter()
    fake_credentials()
    os.chdir(Path(__file__).resolve().parent.parent)
    report = Report()
    import moto

    report.line(
        f"Subscription portal benchmark - Python {platform.python_version()}, moto {moto.__version__}, "
        f"{os.cpu_count()} CPU(s), {time.strftime('%Y-%m-%d %H:%M:%S')}"
    )

    from bench import calls, cleanup, coldstart, einvoice, invoice_pdf, package, renewals

    sections: list[tuple[str, Callable[[Report, Path], list[str]]]] = [
        ("cold start", coldstart.run),
        ("DynamoDB calls per route", calls.run),
        ("cleanup efficiency", cleanup.run),
        ("package size", package.run),
        ("renewal efficiency", renewals.run),
        ("invoice pdf", invoice_pdf.run),
        ("einvoice", einvoice.run),
    ]
    wanted = {a.replace("-", " ") for a in sys.argv[1:]}
    if wanted:  # e.g. `python -m bench "cold start"` runs only that section
        sections = [(n, r) for n, r in sections if n in wanted or n.split()[0] in wanted]
    summary: list[str] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for name, run in sections:
            section_started = time.perf_counter()
            try:
                summary += run(report, Path(tmp))
            except Exception:
                failed.append(name)
                report.line(f"!! the {name} measurement did not run:")
                report.line(traceback.format_exc().rstrip())
                summary.append(f"{name}: DID NOT RUN")
            report.line(f"[{name}: {time.perf_counter() - section_started:.1f} s]")

    report.section("Summary")
    for line in summary:
        report.line(f"- {line}")
    report.line(f"total benchmark time {time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
