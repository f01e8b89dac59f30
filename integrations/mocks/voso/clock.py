"""Virtual clock shared by every time-based feature of the mock."""

import time


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0
        self.frozen_at: float | None = None

    def now(self) -> float:
        if self.frozen_at is not None:
            return self.frozen_at
        return time.time() + self.offset

    def set_offset(self, seconds: float) -> None:
        self.frozen_at = None
        self.offset = float(seconds)

    def freeze(self, epoch: float) -> None:
        self.frozen_at = float(epoch)

    def unfreeze(self) -> None:
        if self.frozen_at is not None:
            self.offset = self.frozen_at - time.time()
        self.frozen_at = None

    def advance(self, seconds: float) -> None:
        if self.frozen_at is not None:
            self.frozen_at += float(seconds)
        else:
            self.offset += float(seconds)

    def describe(self) -> dict:
        return {"now": self.now(), "offset_s": self.offset, "frozen_at": self.frozen_at}
