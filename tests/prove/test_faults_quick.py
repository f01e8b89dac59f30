"""`make test`'s short version of the fault run (tests/prove/faults_listings.py, issue 8): 40 listings across both
mocks with the same fault mix (5xx, timeouts with and without commit, commit-then-error, 429 bursts, expiring
tokens) and SIGKILLed Celery worker processes, against real processes: PostgreSQL, Redis, both mocks, gunicorn
and Celery workers. Its database is kept between runs (PROVE_REUSE_DB), as pytest's own is with --reuse-db.

Needs PostgreSQL (skipped on SQLite) and Redis. Uses Redis database 3 unless PROVE_QUICK_REDIS_URL says
otherwise, and the database <DATABASE_URL's name>_faults_quick unless PROVE_QUICK_DB does."""

import json
import os
import subprocess
import sys
import time

import pytest
import redis

from tests.conftest import ROOT

pytestmark = pytest.mark.postgres
BOUND_S = 120


def test_forty_listings_through_faults_and_killed_workers_match_the_mocks(tmp_path):
    # given a Redis of our own and a database of this test's own, next to the one pytest uses
    redis_url = os.environ.get("PROVE_QUICK_REDIS_URL", "redis://127.0.0.1:6379/3")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"the fault run needs Redis at {redis_url}: {exc}")
    base, name = os.environ["DATABASE_URL"].rsplit("/", 1)
    database = os.environ.get("PROVE_QUICK_DB", f"{name}_faults_quick")
    env = {
        **os.environ,
        "PROVE_LISTINGS": "40",
        "PROVE_DB": database,
        "PROVE_DATABASE_URL": f"{base}/{database}",
        "PROVE_REUSE_DB": "1",
        "PROVE_REDIS_URL": redis_url,
        "PROVE_WORKERS": "2",
        "PROVE_CONCURRENCY": "3",
        # Longer than any run or countdown of this batch (a 15 s timeout is the longest), so that only a dead
        # worker's messages come back.
        "PROVE_VISIBILITY_S": "25",
        # The run's bound: what has not settled by then counts as lost. Generous, so that a busy machine makes it
        # slower, not red (it settles in about 45 s on an idle one, most of it the visibility timeout above).
        "PROVE_BUDGET_S": "120",
        "PROVE_OUT": str(tmp_path),
    }

    # when 40 listings are pushed through the faults while worker processes are killed
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "tests.prove.faults_listings"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=BOUND_S * 3,
    )  # fmt: skip
    elapsed = time.monotonic() - started

    # then every target is met: the mocks hold exactly our listings, none twice, none lost, none unexplained
    report = json.loads((tmp_path / "faults_listings.json").read_text())
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert all(report["targets"].values()), report["targets"]
    assert report["listings"] == 40
    assert [kill["kind"] for kill in report["kills"]] == ["pool process", "main process"]
    assert report["redelivered_runs"] >= 1
    print(f"fault run: {elapsed:.1f} s in all, {report['wall_s']} s to settle; setup {report['setup_s']} s")
