"""Hostile input, the long run: schemathesis over every operation of /api/v1/schema/, as every actor (anonymous,
each role, a superuser), valid and invalid requests, many examples each, on a fresh PostgreSQL database.

    python -m tests.prove.hostile                     # HOSTILE_EXAMPLES=15 per operation, actor and mode
    HOSTILE_EXAMPLES=5 HOSTILE_ONLY=/products python -m tests.prove.hostile

The quick variant of the same run is tests/hostile/test_schema_fuzz.py (inside `make test`). This one prints a
table per operation and a summary (operations, actors, requests, server errors, conformance failures), writes
$PROVE_OUT/hostile.json, and exits 1 on any server error or any answer the schema does not describe.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.bench.bench_listings import _fresh_database

DATABASE_URL = os.environ.get("HOSTILE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ocop_h_hostile")
EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "15"))  # ~14,000 requests: about 10 minutes on 2 cores
ROOT = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("PROVE_OUT", ROOT / "var" / "prove"))


def _setup(var_dir: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "marketplace.settings",
            "DATABASE_URL": DATABASE_URL,
            "VAR_DIR": var_dir,
            "DEBUG": "false",  # errors as a deployment answers them, never Django's debug page
            # Thousands of requests a minute per actor: the rate limits (tested in tests/core) would answer 429.
            "THROTTLE_USER": "10000000/min",
            "THROTTLE_ANON": "10000000/min",
            "LOG_LEVEL": "CRITICAL",
        }
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # thousands of expected 4xx, one line each
    settings.MEDIA_ROOT = Path(var_dir) / "media"
    call_command("migrate", verbosity=0)
    for command in ("load_admin_units", "load_catalog_reference", "load_channel_reference"):
        call_command(command, verbosity=0)


def main() -> int:
    started = time.perf_counter()
    _fresh_database(DATABASE_URL)
    with tempfile.TemporaryDirectory(prefix="hostile-") as var_dir:
        _setup(var_dir)
        from rest_framework.test import APIClient

        from tests.hostile import fuzz
        from tests.hostile.world import ACTORS, build_world, token_for

        world = build_world()
        tokens = {actor: token_for(APIClient(), world.users[actor]) for actor in ACTORS}
        print(f"hostile: {len(ACTORS)} actors, {EXAMPLES} examples per operation, actor and mode", flush=True)

        def progress(operation, report):
            print(f"  {operation.label:<60} {report.per_operation[operation.label]:>6} requests", flush=True)

        with fuzz.django_app() as app:
            report = fuzz.run(
                schema=fuzz.load_schema(app), tokens=tokens, ids=world.ids, examples=EXAMPLES,
                only=os.environ.get("HOSTILE_ONLY"), progress=progress,
            )  # fmt: skip
    seconds = time.perf_counter() - started

    by_operation = Counter(f.operation for f in report.failures)
    if by_operation:
        print("\n| operation | failures |\n|---|---:|")
        for operation, count in by_operation.most_common():
            print(f"| {operation} | {count} |")
        print("\n" + report.describe(limit=60))
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(report.statuses.items()))
    print("\n| operations | actors | requests | server errors | conformance failures | statuses | wall |")
    print("|---:|---:|---:|---:|---:|---|---:|")
    print(
        f"| {report.operations} | {len(ACTORS)} | {report.requests} | {len(report.server_errors)} "
        f"| {len(report.conformance_failures)} | {statuses} | {seconds:.0f} s |"
    )
    ok = not report.failures and report.requests > 0
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "hostile.json").write_text(
        json.dumps(
            {
                "ok": ok,
                "operations": report.operations,
                "actors": len(ACTORS),
                "examples": EXAMPLES,
                "requests": report.requests,
                "server_errors": len(report.server_errors),
                "conformance_failures": len(report.conformance_failures),
                "statuses": {str(k): v for k, v in report.statuses.items()},
                "seconds": round(seconds, 1),
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
