"""The mock's business error (rendered in the Postmart envelope by app.py) and a lenient integer parser."""

from __future__ import annotations

import re
from typing import Any


class ApiError(Exception):
    def __init__(
        self, error: str, message: str, status: int = 400, headers: dict | None = None, response: Any = None
    ) -> None:
        super().__init__(f"{error}: {message}")
        self.error = error
        self.message = message
        self.status = status
        self.headers = headers or {}
        self.response = response


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None
