"""A real Celery worker process consumes tasks from the configured broker (Redis in CI, the embedded
filesystem transport otherwise): tasks are asynchronous, never eager."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from marketplace.core.tasks import ping

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_queue():
    """A worker on a queue of its own, so that a developer's running worker cannot take the test's task."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "marketplace",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "marketplace.settings"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_separate_worker_process_runs_the_task(worker_queue):
    assert not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
    token = uuid.uuid4().hex

    result = ping.apply_async(args=[token], queue=worker_queue)

    assert result.get(timeout=60) == f"pong:{token}"
    assert result.successful()
