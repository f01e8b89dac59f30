"""localstripe on loopback only, with the service's webhook registered once it answers.

    python -m storefront.localstripe_server --port 8420 \\
        [--webhook-url http://127.0.0.1:8000/webhooks/stripe/ --webhook-secret whsec_…]

localstripe (GPL-3.0, installed from PyPI as a development tool, never vendored) binds every interface (`::`)
and has no host option; its aiohttp app is run here on 127.0.0.1 instead (marketplaces.md §7.1). It starts
empty: the store it pickles is not loaded. Webhook registrations live in its memory only, hence registering at
every start. Note: localstripe writes its whole store to the hard-coded /tmp/localstripe.pickle on every
write; parallel instances overwrite each other's copy, which is harmless since none of them reads it back.

Imports nothing from the service, so that it runs as a plain separate process (Procfile `stripe:`, tests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os

from aiohttp import ClientSession, web

# The development default, the same as settings.STRIPE_WEBHOOK_SECRET's.
DEV_WEBHOOK_SECRET = "whsec_localstripe_dev"  # noqa: S105 (a development value, like the sk_test_ keys)
WEBHOOK_ID = "service"


async def _register(port: int, url: str, secret: str) -> None:
    async with ClientSession() as http:
        form = {"url": url, "secret": secret}
        async with http.post(f"http://127.0.0.1:{port}/_config/webhooks/{WEBHOOK_ID}", data=form) as response:
            if response.status >= 300:
                raise RuntimeError(f"localstripe refused the webhook registration: {response.status}")
    logging.getLogger("localstripe").info("webhook registered: %s", url)


async def serve(*, host: str, port: int, webhook_url: str | None, webhook_secret: str) -> None:
    from localstripe import server

    runner = web.AppRunner(server.app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    if webhook_url:
        await _register(port, webhook_url, webhook_secret)
    print(f"localstripe on http://{host}:{port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "::1", "localhost"])
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--webhook-url", default=os.environ.get("STRIPE_WEBHOOK_URL"))
    parser.add_argument("--webhook-secret", default=os.environ.get("STRIPE_WEBHOOK_SECRET") or DEV_WEBHOOK_SECRET)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(host=args.host, port=args.port, webhook_url=args.webhook_url,
                          webhook_secret=args.webhook_secret))  # fmt: skip


if __name__ == "__main__":
    main()
