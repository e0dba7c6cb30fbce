"""The ``anxin`` command: serve, migrate, demo, bench."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from aiohttp import web

from server.logs import setup_logging
from server.settings import Settings

log = logging.getLogger("anxin.cli")


def _serve(settings: Settings, host: str, port: int) -> None:
    from server.app import create_app

    app = create_app(settings)
    print(
        f"Anxin 安心 serving on http://{host}:{port}  (store: {settings.database_url.split('://')[0]}, "
        f"bus: {'redis' if settings.redis_url else 'in-process'})",
        flush=True,
    )
    web.run_app(app, host=host, port=port, print=None, access_log=None, shutdown_timeout=5)


def _migrate(settings: Settings) -> None:
    from server.store.migrate import upgrade

    upgrade(settings.database_url)
    print("migrated to head", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="anxin", description="Anxin 安心 elder-care station back end"
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="run the HTTP/WebSocket server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    sub.add_parser("migrate", help="bring the database schema to the latest revision")
    demo = sub.add_parser("demo", help="migrate, seed a demo station and serve")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--no-serve", action="store_true", help="seed only")
    bench = sub.add_parser("bench", help="benchmarks")
    bench.add_argument("which", choices=["solomon"])
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    settings.check_production()
    setup_logging(settings.log_level)
    if args.cmd == "serve":
        _serve(settings, args.host, args.port)
    elif args.cmd == "migrate":
        _migrate(settings)
    elif args.cmd == "demo":
        from server.demo import seed_demo

        _migrate(settings)
        summary = asyncio.run(seed_demo(settings))
        print(summary, flush=True)
        if not args.no_serve:
            _serve(settings, args.host, args.port)
    elif args.cmd == "bench":
        from bench.solomon import main as solomon_main

        return int(solomon_main(args.rest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
