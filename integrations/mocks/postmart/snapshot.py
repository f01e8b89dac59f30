"""JSON snapshot and restore of the mock's whole state (POST /__admin/snapshot, /__admin/restore).

The state uses int and tuple dict keys, tuples, sets and raw image bytes, which JSON cannot hold as such; `encode`
tags them (`{"__t": "dict"|"tuple"|"set"|"bytes", ...}`) and `decode` turns them back, so a restored mock is the
same mock: same ids to come, same tokens, items, orders, queued pushes, fault counters and clock.
"""

from __future__ import annotations

import base64
from typing import Any

TAG = "__t"


def encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: encode(v) for k, v in value.items()}
        return {TAG: "dict", "items": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {TAG: "tuple", "items": [encode(v) for v in value]}
    if isinstance(value, set | frozenset):
        return {TAG: "set", "items": [encode(v) for v in value]}
    if isinstance(value, bytes | bytearray):
        return {TAG: "bytes", "b64": base64.b64encode(bytes(value)).decode()}
    raise TypeError(f"cannot snapshot a {type(value).__name__}")


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag == "dict":
        return {decode(k): decode(v) for k, v in value["items"]}
    if tag == "tuple":
        return tuple(decode(v) for v in value["items"])
    if tag == "set":
        return {decode(v) for v in value["items"]}
    if tag == "bytes":
        return base64.b64decode(value["b64"])
    return {k: decode(v) for k, v in value.items()}
