"""Fixtures of the Voso mock's test files: one mock app per test on a frozen clock, a token, an image server."""

import pytest
from aiohttp import web

from tests.integrations.voso_support import _image_handler, _text_handler, login, make_client, migrate


@pytest.fixture
async def image_server(aiohttp_server):
    app = web.Application()
    app.router.add_get("/img/{w:\\d+}x{h:\\d+}/{tag}.png", _image_handler)
    app.router.add_get("/text", _text_handler)
    return await aiohttp_server(app)


@pytest.fixture
async def client(aiohttp_client):
    return await make_client(aiohttp_client)


@pytest.fixture
async def token(client):
    return await login(client)


@pytest.fixture
async def cdn_urls(client, token, image_server):
    data = await migrate(client, token, [str(image_server.make_url(f"/img/600x600/p{i}.png")) for i in range(3)])
    assert all(r["ok"] for r in data["results"]), data
    return [r["url"] for r in data["results"]]
