"""The long proofs, one after another, each bounded in time (make prove).

    python -m tests.prove                   # every suite
    PROVE_ONLY=load,recovery python -m tests.prove

Each suite is its own process group, stopped (with the servers and workers it started) when it passes its bound
(PROVE_TIMEOUT_<SUITE> in seconds overrides it). A suite that fails or times out does not stop the others; the
exit status is 1 if any did. Every suite writes its results to $PROVE_OUT/<suite>.json (default var/prove/);
the summary at the end says, for each, its exit, its wall time against its bound, and whether it wrote a result
in this run.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from tests.bench.report import run_bounded

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("PROVE_OUT", ROOT / "var" / "prove"))
# (suite, bound in seconds): what each promises in its docstring, plus a margin for a busy machine.
SUITES = [
    ("hostile", 900),
    ("faults_listings", 900),
    ("faults_orders", 1200),
    ("recovery", 900),
    ("load", 300),
]


def _verdict(path: Path, since: float) -> str:
    """What the suite's JSON says, if it wrote one in this run: its `ok`, or its failed targets when it has them."""
    if not path.exists() or path.stat().st_mtime < since:
        return "no result written"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return "unreadable result"
    if not isinstance(data, dict):
        return "result written"
    targets = data.get("targets")
    if isinstance(targets, dict):
        missed = [name for name, met in targets.items() if met is False]
        return f"targets missed: {', '.join(missed)}" if missed else "every target met"
    if "ok" in data:
        return "ok" if data["ok"] else "not ok"
    return "result written"


def main() -> int:
    only = [name for name in os.environ.get("PROVE_ONLY", "").split(",") if name]
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PROVE_OUT": str(OUT)}
    rows = []
    for suite, bound in SUITES:
        if only and suite not in only:
            continue
        bound = int(os.environ.get(f"PROVE_TIMEOUT_{suite.upper()}", bound))
        print(f"\n=== prove: python -m tests.prove.{suite} (bound {bound} s)", flush=True)
        since, started = time.time(), time.perf_counter()
        code = run_bounded([sys.executable, "-m", f"tests.prove.{suite}"], env=env, timeout=bound)
        rows.append((suite, bound, time.perf_counter() - started, code, _verdict(OUT / f"{suite}.json", since)))

    print("\n| suite | exit | wall / bound | result |")
    print("|---|---|---:|---|")
    for suite, bound, seconds, code, verdict in rows:
        status = "timed out" if code is None else ("ok" if code == 0 else f"failed ({code})")
        print(f"| `python -m tests.prove.{suite}` | {status} | {seconds:.0f} / {bound} s | {verdict} |")
    failed = [suite for suite, _b, _s, code, _v in rows if code != 0]
    print(f"\nprove: {len(rows) - len(failed)} of {len(rows)} passed; results in {OUT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
