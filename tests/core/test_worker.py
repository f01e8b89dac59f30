"""A real Celery worker process consumes tasks from the configured broker (Redis in CI, the embedded
filesystem transport otherwise): tasks are asynchronous, never eager."""

import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from marketplace.core.tasks import ping

ROOT = Path(__file__).resolve().parents[2]


def test_a_separate_worker_process_runs_the_task(worker_queue):
    assert not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
    token = uuid.uuid4().hex

    result = ping.apply_async(args=[token], queue=worker_queue)

    assert result.get(timeout=60) == f"pong:{token}"
    assert result.successful()


@pytest.mark.django_db(transaction=True)
def test_the_beat_heartbeat_is_recorded_by_a_worker_and_shown_by_readyz(worker_queue, client):
    # given no heartbeat yet
    from marketplace.core.models import Heartbeat
    from marketplace.core.tasks import heartbeat

    assert client.get("/readyz").json()["beat_last_seen"] is None

    # when beat's job runs in a worker process
    heartbeat.apply_async(queue=worker_queue)

    # then readyz reports when the scheduler was last seen
    for _ in range(60):
        if Heartbeat.objects.filter(name="beat").exists():
            break
        time.sleep(0.5)
    assert client.get("/readyz").json()["beat_last_seen"] is not None
