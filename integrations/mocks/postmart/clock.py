"""Virtual clock: every time-based feature of the mock reads it (docs/marketplaces.md §1)."""

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
        self.frozen_at = None if at is None else float(at)

    def advance(self, seconds: float) -> None:
        if self.frozen_at is not None:
            self.frozen_at += float(seconds)
        else:
            self.offset += float(seconds)

    def describe(self) -> dict:
        return {"now": self.now(), "offset_s": self.offset, "frozen_at": self.frozen_at}
