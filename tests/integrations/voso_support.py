"""Helpers shared by the Voso mock's test files (the fixtures built on them are in conftest.py)."""

import datetime as dt
import struct
import zlib

from aiohttp import web

from integrations.mocks.voso import create_app

# 2026-03-10 10:00 in Asia/Ho_Chi_Minh (03:00 UTC)
T0 = dt.datetime(2026, 3, 10, 3, 0, tzinfo=dt.UTC).timestamp()
USERNAME, PASSWORD = "htx-meovac", "matong-2025"


def png(width: int, height: int, tag: str = "") -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"tEXt", b"tag\x00" + tag.encode())
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def _image_handler(request: web.Request) -> web.Response:
    w, h = int(request.match_info["w"]), int(request.match_info["h"])
    return web.Response(body=png(w, h, request.match_info["tag"]), content_type="image/png")


async def _text_handler(request: web.Request) -> web.Response:
    return web.Response(text="not an image")


async def make_client(aiohttp_client, seed: int = 0):
    client = await aiohttp_client(create_app(seed=seed, time_scale=1.0))
    resp = await client.post("/__admin/clock", json={"freeze_at": T0})
    assert resp.status == 200
    # Most tests send many calls at one frozen instant: lift the per-token limits (the rate-limit test restores them).
    resp = await client.put("/__admin/limits", json={"rate_per_s": 1000, "migrate_per_s": 1000})
    assert resp.status == 200
    return client


async def login(client, username: str = USERNAME, password: str = PASSWORD) -> str:
    resp = await client.post("/v2/user/Login", json={"USERNAME": username, "PASSWORD": password})
    assert resp.status == 200, await resp.text()
    return (await resp.json())["data"]["token"]


async def migrate(client, token: str, urls: list[str]) -> dict:
    resp = await client.post("/v2/media/migrate", json={"urls": urls}, headers={"Token": token})
    assert resp.status == 202, await resp.text()
    batch_id = (await resp.json())["data"]["batchId"]
    await client.post("/__admin/tick", json={"seconds": 1})
    resp = await client.get(f"/v2/media/migrate/{batch_id}", headers={"Token": token})
    return (await resp.json())["data"]
