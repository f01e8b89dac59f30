"""Run the Postmart-like mock: python -m integrations.mocks.postmart --port 18081 [--host 127.0.0.1]."""

from __future__ import annotations

import argparse
import ipaddress
import sys

from aiohttp import web

from .app import create_app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrations.mocks.postmart", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18081)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        print(f"refusing to bind {args.host}: the mock binds loopback only", file=sys.stderr)
        return 2
    app = create_app(seed=args.seed, time_scale=args.time_scale)
    print(f"postmart mock on http://{args.host}:{args.port} (seed={args.seed})", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
