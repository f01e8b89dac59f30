"""Sending a task whose work is already committed (an upload stored, a push asked for, an event received)."""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def task_send(task, *, args: list, queue: str | None, what: str) -> bool:
    """Send `task`; while the broker is unreachable (Redis restarting), log and return False instead of failing
    the caller, whose request is committed: answering 500 would make a client send again what is stored. Every
    caller has a beat backstop that sends again what was never picked up (stale photos, lost listings, pending
    inbound events), as it does for a message lost with a restarted broker."""
    try:
        task.apply_async(args=args, queue=queue)
    except OperationalError:  # kombu's name for a broker it cannot reach
        logger.warning("%s stored but not queued: the broker is unreachable", what, exc_info=True)
        return False
    return True
