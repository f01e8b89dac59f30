"""The virtual clock both mocks read for everything time-based (shared/docs/marketplaces.md §1): it can be
offset, frozen and advanced through each mock's /__admin/clock, so tests never wait for real time."""

from __future__ import annotations

import time
from collections.abc import Callable


class Clock:
    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self.offset = 0.0
        self.frozen_at: float | None = None

    def now(self) -> float:
        if self.frozen_at is not None:
            return self.frozen_at
        return self._source() + self.offset

    def set_offset(self, seconds: float) -> None:
        self.frozen_at = None
        self.offset = float(seconds)

    def freeze(self, at: float | None) -> None:
        """Stop the clock at `at` (epoch seconds); None starts it again from where it stood."""
        if at is None:
            self.unfreeze()
        else:
            self.frozen_at = float(at)

    def unfreeze(self) -> None:
        if self.frozen_at is not None:
            self.offset = self.frozen_at - self._source()
        self.frozen_at = None

    def advance(self, seconds: float) -> None:
        if self.frozen_at is not None:
            self.frozen_at += float(seconds)
        else:
            self.offset += float(seconds)

    def describe(self) -> dict:
        return {"now": self.now(), "offset_s": self.offset, "frozen_at": self.frozen_at}
