"""Every benchmark in one go, and one table of their figures against their targets (make bench).

    make bench                           # python -m tests.bench.report: every benchmark, then docs/bench.md
    BENCH_DB_PREFIX=ocop_h_bench BENCH_PRODUCTS=2000 BENCH_ORDER_LINES=50000 BENCH_LISTINGS=100 make bench

The benchmark scripts (tests/bench/bench_*.py) print their own results as before; each also calls `record`
for the figures its issue set a target for. `record` appends one JSON line to the file named by BENCH_REPORT
and does nothing when it is unset, so a script run alone (make bench-kpi…) behaves as it always did.

This runs the scripts one after another, each in its own process with BENCH_REPORT set and its own time limit
(BENCH_TIMEOUT, seconds, per script), goes on after a failure, and writes docs/bench.md (BENCH_OUT): the
table (figure, value, peer or floor, ratio, target, met), each script's wall time and exit status, the sizes
taken from the environment, and the machine (CPU, cores, memory, PostgreSQL, Redis, Python, date, commit).
With BENCH_DB_PREFIX, the PostgreSQL benchmarks use the databases <prefix>_products, <prefix>_listings and
<prefix>_kpi instead of their own, so a quick run never touches a full-size data set. Exit 1 if a script
failed or timed out; a missed target is a finding, reported in the table, not a failure of the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (module, what it measures, database suffix under BENCH_DB_PREFIX or None)
BENCHES = [
    ("tests.bench.bench_load_admin_units", "administrative units", None),
    ("tests.bench.bench_photos", "photo pipeline", None),
    ("tests.bench.bench_product_list", "product list", "products"),
    ("tests.bench.bench_listings", "listings push", "listings"),
    ("tests.bench.bench_kpi", "KPI", "kpi"),
]
SIZES = ("BENCH_PHOTOS", "BENCH_PRODUCTS", "BENCH_PRODUCERS", "BENCH_RUNS", "BENCH_LISTINGS", "BENCH_ORDER_LINES",
         "BENCH_NEW_LINES", "BENCH_CHANNELS", "BENCH_FAULTS")  # fmt: skip


def record(
    *,
    bench: str,
    figure: str,
    value: float | str,
    unit: str = "",
    peer: float | None = None,
    peer_label: str = "",
    target: str = "",
    met: bool | None = None,
) -> None:
    """Record one figure of a benchmark for the report (a no-op unless BENCH_REPORT names a file).

    `peer` is what the figure is compared with (a naive pipeline, hand-written SQL, the floor the limits allow,
    `count(*)`), in the same unit; the ratio is value ÷ peer. `target` says what the issue asked, `met` whether
    this run meets it (None: no target).
    """
    path = os.environ.get("BENCH_REPORT")
    if not path:
        return
    row = {"bench": bench, "figure": figure, "value": value, "unit": unit, "peer": peer, "peer_label": peer_label,
           "target": target, "met": met}  # fmt: skip
    if isinstance(value, int | float) and peer:
        row["ratio"] = value / peer
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


# ------------------------------------------------------------------------------------------------ the machine
def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _command(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10, cwd=ROOT, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict:
    """What the figures were measured on."""
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    try:
        import psycopg

        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=5) as conn:
            postgres = conn.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:  # the report says which, rather than failing
        postgres = f"unreachable ({type(exc).__name__})"
    try:
        import redis

        server = redis.Redis.from_url(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")).info("server")
        redis_version = server["redis_version"]
    except Exception as exc:
        redis_version = f"unreachable ({type(exc).__name__})"
    memory_kb = _first("/proc/meminfo", "MemTotal").split()[0]
    commit = _command("git", "rev-parse", "--short", "HEAD") or "unknown"
    if _command("git", "status", "--porcelain", "--untracked-files=no"):
        commit += " with uncommitted changes"
    return {
        "cpu": _first("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory_gb": round(int(memory_kb) / 1024 / 1024, 1) if memory_kb.isdigit() else None,
        "postgresql": postgres,
        "redis": redis_version,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
    }


# ------------------------------------------------------------------------------------------------ the table
def _number(value: float | str, unit: str) -> str:
    if isinstance(value, str):
        return value
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return f"{text} {unit}".strip()


def render(rows: list[dict], runs: list[dict], about: dict, sizes: dict[str, str]) -> str:
    """The Markdown of docs/bench.md."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m tests.bench.report`); do not edit by hand. Each figure comes from the",
        "benchmark script named in the last table, run in this go; the ratio is the figure ÷ its peer or floor.",
        "Absolute times on a shared machine are noisy; ratios measured in the same run much less so.",
        "",
        f"Machine: {about['cpu']}, {about['cores']} cores, {about['memory_gb']} GB RAM; PostgreSQL "
        f"{about['postgresql']}, Redis {about['redis']}, Python {about['python']}, {about['os']}. "
        f"Run {about['date']}, commit {about['commit']}.",
        "",
        "Sizes: " + (", ".join(f"`{k}={v}`" for k, v in sizes.items()) or "the scripts' defaults (full size)") + ".",
        "",
        "| benchmark | figure | value | peer or floor | ratio | target | met |",
        "|---|---|---:|---:|---:|---|:-:|",
    ]  # fmt: skip
    for row in rows:
        peer = f"{row['peer_label']} {_number(row['peer'], row['unit'])}".strip() if row["peer"] is not None else "—"
        ratio = "—" if row.get("ratio") is None else f"{row['ratio']:.{1 if row['ratio'] >= 10 else 2}f}×"
        met = {True: "yes", False: "**no**", None: "—"}[row["met"]]
        lines.append(f"| {row['bench']} | {row['figure']} | {_number(row['value'], row['unit'])} | {peer} | {ratio} | "
                     f"{row['target'] or '—'} | {met} |")  # fmt: skip
    met = [row["met"] for row in rows if row["met"] is not None]
    lines += [
        "",
        f"Targets met: {sum(met)} of {len(met)}.",
        "",
        "| script | wall | exit |",
        "|---|---:|---|",
    ]
    for run in runs:
        status = "ok" if run["exit"] == 0 else ("timed out" if run["exit"] is None else f"failed ({run['exit']})")
        lines.append(f"| `python -m {run['module']}` | {run['seconds']:.0f} s | {status} |")
    return "\n".join(lines) + "\n"


def run_bounded(command: list[str], *, env: dict, timeout: float) -> int | None:
    """Run a command in a process group of its own; past `timeout` stop the whole group (the script and the
    servers and workers it started), politely first. The exit code, or None when it was stopped."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=grace)
                break
        return None


def main() -> int:
    timeout = int(os.environ.get("BENCH_TIMEOUT", "3600"))
    out = Path(os.environ.get("BENCH_OUT", ROOT / "docs" / "bench.md"))
    prefix = os.environ.get("BENCH_DB_PREFIX", "")
    only = [m for m in os.environ.get("BENCH_ONLY", "").split(",") if m]
    sizes = {name: os.environ[name] for name in SIZES if name in os.environ}
    if prefix:
        sizes["BENCH_DB_PREFIX"] = prefix
    about = machine()
    report = Path(tempfile.mkstemp(prefix="bench-report-", suffix=".jsonl")[1])
    runs = []
    started_all = time.perf_counter()
    for module, label, suffix in BENCHES:
        if only and not any(o in module for o in only):
            continue
        env = {**os.environ, "BENCH_REPORT": str(report)}
        if prefix and suffix:
            env["BENCH_DB_NAME"] = f"{prefix}_{suffix}"
        print(f"\n=== {label}: python -m {module}", flush=True)
        started = time.perf_counter()
        exit_code = run_bounded([sys.executable, "-m", module], env=env, timeout=timeout)
        runs.append({"module": module, "seconds": time.perf_counter() - started, "exit": exit_code})
    rows = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines() if line.strip()]
    report.unlink()
    out.parent.mkdir(parents=True, exist_ok=True)
    text = render(rows, runs, about, sizes)
    out.write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"written to {out} in {time.perf_counter() - started_all:.0f} s")
    return 0 if all(run["exit"] == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
