"""Snapshot and restore of the Voso mock's in-memory state as one JSON file (marketplaces.md §1 "State").

The state holds values JSON has no type for (bytes of hosted images, deques, tuple-keyed dicts, random generator
states), so values are encoded with a small tagged form: `{"__voso__": "<kind>", ...}`. Everything in the `State`
object is written except the clock (stored separately as its offset / frozen instant) and in-flight markers, so
a restore gives back the same products, orders, feeds, deliveries, tokens and id sequences.
"""

import base64
import json
import os
import random
from collections import deque
from pathlib import Path

FORMAT = "voso-mock-snapshot/1"
TAG = "__voso__"


def encode(value):
    """A JSON-compatible form of `value`; `decode` inverts it."""
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: encode(v) for k, v in value.items()}
        return {TAG: "dict", "items": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {TAG: "tuple", "items": [encode(v) for v in value]}
    if isinstance(value, deque):
        return {TAG: "deque", "maxlen": value.maxlen, "items": [encode(v) for v in value]}
    if isinstance(value, set | frozenset):
        return {TAG: "set", "items": [encode(v) for v in sorted(value, key=repr)]}
    if isinstance(value, bytes | bytearray):
        return {TAG: "bytes", "b64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, random.Random):
        return {TAG: "random", "state": encode(value.getstate())}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "__dict__"):  # small helper objects such as the id generator
        return {TAG: "object", "attrs": {k: encode(v) for k, v in vars(value).items()}}
    raise TypeError(f"cannot snapshot {type(value).__name__}")


def decode(value, template=None):
    """Inverse of `encode`. `template` is the live object an "object" tag is restored into."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get(TAG)
    if kind is None:
        return {k: decode(v) for k, v in value.items()}
    if kind == "dict":
        return {_hashable(decode(k)): decode(v) for k, v in value["items"]}
    if kind == "tuple":
        return tuple(decode(v) for v in value["items"])
    if kind == "deque":
        return deque((decode(v) for v in value["items"]), maxlen=value["maxlen"])
    if kind == "set":
        return {_hashable(decode(v)) for v in value["items"]}
    if kind == "bytes":
        return base64.b64decode(value["b64"])
    if kind == "random":
        rng = random.Random()
        rng.setstate(_tuples(decode(value["state"])))
        return rng
    if kind == "object":
        if template is None:
            raise ValueError("an object needs a live template to be restored into")
        for k, v in value["attrs"].items():
            setattr(template, k, decode(v, getattr(template, k, None)))
        return template
    raise ValueError(f"unknown snapshot tag {kind!r}")


def _hashable(v):
    return tuple(_hashable(x) for x in v) if isinstance(v, list | tuple) else v


def _tuples(v):
    # random.Random.setstate wants nested tuples, which the tagged form already gives back.
    return tuple(_tuples(x) for x in v) if isinstance(v, list | tuple) else v


def dump_state(state, clock, skip: tuple[str, ...] = ("clock",)) -> dict:
    return {
        "format": FORMAT,
        "clock": {"offset_s": clock.offset, "frozen_at": clock.frozen_at, "now": clock.now()},
        "state": {k: encode(v) for k, v in vars(state).items() if k not in skip},
    }


def load_state(state, clock, doc: dict, *, restore_clock: bool = True) -> None:
    """Overwrites `state` in place from a `dump_state` document (callers re-initialise it first)."""
    if doc.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} document")
    for k, v in doc["state"].items():
        setattr(state, k, decode(v, getattr(state, k, None)))
    if restore_clock:
        c = doc["clock"]
        if c.get("frozen_at") is not None:
            clock.freeze(c["frozen_at"])
        else:
            clock.set_offset(c.get("offset_s", 0.0))


def default_path(seed: int) -> Path:
    """`$VAR_DIR/mocks/voso-snapshot-<seed>.json` (the project's var directory), else the system temp dir."""
    base = os.environ.get("VAR_DIR") or os.environ.get("TMPDIR") or "/tmp"  # noqa: S108 - loopback test mock
    return Path(base) / "mocks" / f"voso-snapshot-{seed}.json"


def write(path: Path, doc: dict) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # atomic: a concurrent restore never reads half a file
    return len(data)


def read(path: Path) -> dict:
    return json.loads(path.read_bytes())
