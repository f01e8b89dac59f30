"""The production profile: refuses to start without its required variables, and passes check --deploy."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x7Gq2-production-like-secret-key-with-enough-entropy-94KzLw0pQ1vR8sT3",
    "ALLOWED_HOSTS": "ocop.example.vn",
    "DATABASE_URL": "sqlite:////tmp/ocop-production-check.sqlite3",
}


def run(args, env):
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_production_passes_check_deploy_with_no_warning():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_its_required_variables():
    result = run(["manage.py", "check"], {"DJANGO_ENV": "production"})

    assert result.returncode != 0
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"):
        assert name in result.stderr


def test_production_logs_are_json():
    code = "import django, logging; django.setup(); logging.getLogger('ocop').warning('xin chào')"

    result = run(["-c", code], {**PRODUCTION, "DJANGO_SETTINGS_MODULE": "marketplace.settings"})

    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "xin chào"
    assert line["levelname"] == "WARNING"
