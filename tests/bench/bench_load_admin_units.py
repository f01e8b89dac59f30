"""Benchmark: load every administrative unit, succession and alias from scratch, then rerun with no change.

    make bench-units                             # SQLite in a temporary file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ocop_bench make bench-units

Reports the median of N runs of each. A benchmark, not a test: absolute times on a shared machine are noisy.
Targets from the foundation issue: from scratch under 60 s, a rerun with no change under 10 s.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="ocop-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("VAR_DIR", tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from marketplace.places.models import AdministrativeUnit, UnitAlias, UnitSuccession
    from marketplace.places.services import admin_units_load
    from tests.bench.report import record

    call_command("migrate", verbosity=0)
    scratch, rerun = [], []
    for _ in range(args.repeat):
        for model in (UnitAlias, UnitSuccession):
            model.objects.all().delete()
        # Children before parents: the parent foreign key protects against deleting a parent first.
        for level in ("commune", "district", "province"):
            AdministrativeUnit.objects.filter(level=level).delete()
        started = time.perf_counter()
        admin_units_load()
        scratch.append(time.perf_counter() - started)
        started = time.perf_counter()
        report = admin_units_load()
        rerun.append(time.perf_counter() - started)
        assert sum(report.created.values()) == sum(report.updated.values()) == 0, report.summary()

    counts = (AdministrativeUnit.objects.count(), UnitSuccession.objects.count(), UnitAlias.objects.count())
    print(f"database: {connection.vendor}; units, successions, aliases: {counts}; runs: {args.repeat}")
    for label, times, target in (("from scratch", scratch, 60), ("rerun, no change", rerun, 10)):
        median = statistics.median(times)
        print(f"{label}: median {median:.2f} s (target < {target} s; ratio to target {median / target:.3f})")
        record(bench="administrative units", figure=f"{label}, {connection.vendor}, median of {args.repeat}",
               value=median, unit="s", target=f"< {target} s", met=median < target)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
