"""Package size: what `make package` builds (chalice package --stage prod --merge-template infra/resources.json)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

from bench.report import Report

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def _top_level(name: str) -> str:
    first = name.split("/", 1)[0]
    for suffix in (".dist-info", ".libs", ".data"):
        if first.endswith(suffix):
            return first
    return first if "/" in name else f"{first} (file)"


def run(report: Report, workdir: Path) -> list[str]:
    report.section("4. Package size (chalice package --stage prod --merge-template infra/resources.json)")
    template = ROOT / "infra" / "resources.json"
    if not template.exists():
        report.line("infra/resources.json does not exist: skipped")
        return ["package: skipped (no infra/resources.json)"]
    chalice = Path(sys.executable).with_name("chalice")
    out = workdir / "package"
    env = {**os.environ, "AWS_DEFAULT_REGION": "eu-west-1"}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [str(chalice), "package", "--stage", "prod", "--merge-template", str(template), str(out)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        report.line(f"chalice package failed to run: {error}")
        return [f"package: chalice package failed to run ({type(error).__name__})"]
    elapsed = time.perf_counter() - started
    zip_path = out / "deployment.zip"
    if done.returncode != 0 or not zip_path.exists():
        report.line(f"chalice package failed (exit {done.returncode}) after {elapsed:.1f} s:")
        for line in (done.stderr or done.stdout).strip().splitlines()[-15:]:
            report.line(f"  {line}")
        return [f"package: chalice package failed (exit {done.returncode})"]
    with zipfile.ZipFile(zip_path) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
    unzipped = sum(i.file_size for i in infos)
    by_top: Counter[str] = Counter()
    files_by_top: Counter[str] = Counter()
    for info in infos:
        by_top[_top_level(info.filename)] += info.file_size
        files_by_top[_top_level(info.filename)] += 1
    cached = "reused chalice's cached dependency zip" if "Reusing" in done.stdout + done.stderr else "built"
    report.line(
        f"deployment.zip: {zip_path.stat().st_size / MB:.2f} MB zipped, {unzipped / MB:.2f} MB unzipped, "
        f"{len(infos):,} files ({elapsed:.1f} s, {cached}; Lambda's limit is 50 MB zipped / 250 MB unzipped)"
    )
    rows = [[name, f"{size / MB:.2f}", files_by_top[name]] for name, size in by_top.most_common(12)]
    rest = unzipped - sum(size for _, size in by_top.most_common(12))
    rows.append([f"({len(by_top) - min(12, len(by_top))} more)", f"{rest / MB:.2f}", ""])
    report.table(["largest top-level entries", "MB unzipped", "files"], rows)
    app_files = sum(n for name, n in files_by_top.items() if name in ("app.py (file)", "chalicelib"))
    pyc = sum(1 for i in infos if i.filename.endswith(".pyc"))
    report.line(f"app code: {app_files} files (app.py + chalicelib); .pyc files in the zip: {pyc}")
    return [
        f"package: deployment.zip {zip_path.stat().st_size / MB:.2f} MB, {unzipped / MB:.2f} MB unzipped, "
        f"{len(infos):,} files"
    ]
