"""`python -m integrations.mocks.voso --port 18082 [--host 127.0.0.1] [--seed N] [--time-scale F]`."""

import argparse
import ipaddress
import sys

from aiohttp import web

from .app import create_app


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrations.mocks.voso", description="Voso-like mock marketplace")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18082)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    if not is_loopback_host(args.host):
        print(f"refusing to bind {args.host!r}: the mock binds loopback only", file=sys.stderr)
        return 2
    app = create_app(seed=args.seed, time_scale=args.time_scale, run_scheduler=True)
    print(f"voso mock listening on http://{args.host}:{args.port}", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
