"""The ``anxin`` command: serve, migrate, demo, backup, restore, bench."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from aiohttp import web
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from server.backup import BackupError, backup, first_line, restore
from server.logs import setup_logging
from server.settings import Settings
from server.texts import render

log = logging.getLogger("anxin.cli")

# Exit codes (sysexits.h): a refusal that a restart cannot cure, so the systemd unit does not
# restart on it (RestartPreventExitStatus=78); anything else (a database not up yet) is 1.
EX_CONFIG = 78


class Refused(Exception):
    """The command will not go ahead; the message says why in one line."""

    def __init__(self, message: str, code: int = EX_CONFIG) -> None:
        super().__init__(message)
        self.code = code


def _shown(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        return url.database  # the file, as the operator would look for it
    return url.render_as_string(hide_password=True)


def _ensure_schema(settings: Settings) -> None:
    """Serve only a database at the code's head revision. The embedded default (no
    ANXIN_DATABASE_URL: SQLite in var/) is migrated here, as nobody else would do it."""
    from server.store.migrate import schema_state

    url = settings.database_url
    try:
        state = schema_state(url)
    except (SQLAlchemyError, OSError) as exc:
        raise Refused(
            f"cannot reach the database at {_shown(url)}: {first_line(exc)}", code=1
        ) from exc
    if state.up_to_date:
        return
    if not state.known:
        raise Refused(
            f"the database at {_shown(url)} is at revision {state.current}, which this version "
            f"does not know (migrated by a newer version?); this version's head is {state.head}"
        )
    if state.current is None and state.has_tables:
        raise Refused(
            f"the database at {_shown(url)} has tables but no migration revision: it was not "
            "built by `anxin migrate`; serve one that was"
        )
    embedded = not os.environ.get("ANXIN_DATABASE_URL")
    where = "is empty" if state.current is None else f"is at revision {state.current}"
    if not embedded:
        raise Refused(
            f"the database at {_shown(url)} is not migrated ({where.removeprefix('is ')}, this "
            f"version needs {state.head}): run `anxin migrate` first"
        )
    _upgrade(url)
    print(f"migrated the embedded database {_shown(url)} to {state.head} (it {where})", flush=True)


def _serve(settings: Settings, host: str, port: int) -> None:
    from server.app import create_app
    from server.store.engine import StoreMisconfigured

    _ensure_schema(settings)
    app = create_app(settings)
    banner = render(
        "cli.serving",
        "en",
        host=host,
        port=port,
        store=settings.database_url.split("://")[0],
        bus="redis" if settings.redis_url else "in-process",
    )
    try:
        # The banner once the store has passed its checks and the socket listens, so a
        # refusal is never preceded by a claim that it serves.
        web.run_app(
            app,
            host=host,
            port=port,
            print=lambda _: print(banner, flush=True),
            access_log=None,
            shutdown_timeout=5,
        )
    except StoreMisconfigured as exc:
        raise Refused(f"refusing to start: {exc}") from exc


def _upgrade(database_url: str) -> None:
    from alembic.util import CommandError

    from server.store.migrate import upgrade

    try:
        upgrade(database_url)
    except (SQLAlchemyError, OSError, CommandError) as exc:
        raise Refused(
            f"migrating {_shown(database_url)} failed: {first_line(exc)}", code=1
        ) from exc


def _migrate(settings: Settings) -> None:
    _upgrade(settings.database_url)
    print("migrated to head", flush=True)


def _backup(settings: Settings, dest: Path) -> None:
    try:
        print(backup(settings.database_url, dest), flush=True)
    except BackupError as exc:
        raise Refused(str(exc), code=1) from exc


def _restore(settings: Settings, src: Path, force: bool) -> None:
    try:
        print(restore(settings.database_url, src, force=force), flush=True)
    except BackupError as exc:
        raise Refused(str(exc), code=1) from exc


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except Refused as exc:
        print(f"anxin: {exc}", file=sys.stderr, flush=True)
        return exc.code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anxin", description=f"{render('cli.description', 'en')} ({render('app.name')})"
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
    simulate = sub.add_parser(
        "sim", help="the district-day simulator (run, compare, validate, generate, schema)"
    )
    simulate.add_argument("rest", nargs=argparse.REMAINDER)
    backup = sub.add_parser(
        "backup", help="online backup of the database (SQLite backup API, or pg_dump)"
    )
    backup.add_argument("dest", type=Path, help="a new file, or a directory for a dated file")
    restore = sub.add_parser("restore", help="restore a backup into the configured database")
    restore.add_argument("src", type=Path, help="a file written by `anxin backup`")
    restore.add_argument(
        "--force", action="store_true", help="replace a database that is not empty"
    )
    return parser


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.cmd == "sim":
        from simrun.cli import main as sim_main

        return sim_main(args.rest)
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
    elif args.cmd == "backup":
        _backup(settings, args.dest)
    elif args.cmd == "restore":
        _restore(settings, args.src, args.force)
    elif args.cmd == "bench":
        from bench.solomon import main as solomon_main

        return int(solomon_main(args.rest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
