"""The channels the service can push to: one adapter instance per channel (they hold no state)."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

_instances: dict = {}


def adapter_for(channel: str):
    if channel not in _instances:
        _instances[channel] = import_string(settings.MARKETPLACE_ADAPTERS[channel])()
    return _instances[channel]
