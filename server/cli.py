"""The ``anxin`` command: serve, migrate, demo, backup, restore, bench."""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import logging
import os
import sys
import threading
import time
from pathlib import Path

from aiohttp import web
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from server.backup import BackupError, backup, first_line, restore
from server.clock import Clock, make_clock
from server.logs import setup_logging
from server.settings import Settings, database_url_given, environment
from server.texts import render

log = logging.getLogger("anxin.cli")
# Past systemd's usual stop (aiohttp's 5 s for requests, a few for alert sends, the store) and
# under its kill (90 s): a stop still running then is a bug, and a bug must not keep a station
# from restarting.
STOP_DEADLINE_S = 30.0

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
    embedded = not database_url_given()
    where = "is empty" if state.current is None else f"is at revision {state.current}"
    if not embedded:
        raise Refused(
            f"the database at {_shown(url)} is not migrated ({where.removeprefix('is ')}, this "
            f"version needs {state.head}): run `anxin migrate` first"
        )
    _upgrade(url)
    print(f"migrated the embedded database {_shown(url)} to {state.head} (it {where})", flush=True)


def _serve(settings: Settings, host: str, port: int, clock: Clock | None = None) -> None:
    from server.app import create_app
    from server.store.engine import StoreMisconfigured

    _ensure_schema(settings)
    if settings.production:
        _refuse_demo_passwords(settings)
    settings, fresh = _secrets(settings)
    app = create_app(settings, clock=clock)
    app.on_shutdown.insert(0, _stop_watchdog)
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
            print=lambda _: _started(settings, fresh, banner),
            access_log=None,
            shutdown_timeout=5,
        )
    except StoreMisconfigured as exc:
        raise Refused(f"refusing to start: {exc}") from exc


async def _stop_watchdog(app: web.Application) -> None:
    """When a stop hangs anyway: say where every thread is, then exit. Nothing is lost: what
    was acknowledged is committed, and outbox rows and timers in hand are taken again after the
    restart."""

    def bite() -> None:
        time.sleep(STOP_DEADLINE_S)
        log.error("stop still running after %.0f s: exiting", STOP_DEADLINE_S)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        os._exit(1)

    threading.Thread(target=bite, name="stop-watchdog", daemon=True).start()


def _sqlite_folder(database_url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database)).parent


def _upgrade(database_url: str) -> None:
    from alembic.util import CommandError

    from server.store.migrate import upgrade

    folder = _sqlite_folder(database_url)
    if folder is not None and not folder.is_dir():
        # Said before SQLite tries: its failed connect races the event loop's close and
        # prints a thread's traceback after our one line.
        raise Refused(
            f"migrating {_shown(database_url)} failed: the folder {folder} does not exist",
            code=1,
        )
    try:
        upgrade(database_url)
    except (SQLAlchemyError, OSError, CommandError) as exc:
        raise Refused(
            f"migrating {_shown(database_url)} failed: {first_line(exc)}", code=1
        ) from exc


def _secrets(settings: Settings) -> tuple[Settings, dict[str, str]]:
    """The hotline's secrets the environment did not set, from the data directory (generated
    on first start): a server never runs with a value someone could read."""
    try:
        return settings.with_stored_secrets()
    except (OSError, ValueError) as exc:
        raise Refused(f"cannot read the secrets in {settings.data_dir}: {exc}") from exc


def _started(settings: Settings, fresh: dict[str, str], banner: str) -> None:
    """Once the store has passed its checks and the socket listens: keep the generated
    secrets and show them this once, then the banner."""
    if fresh:
        print(settings.save_secrets(fresh), flush=True)
    print(banner, flush=True)


def _refuse_demo_passwords(settings: Settings) -> None:
    """Production refuses a database where a demo account still has the demo's password."""
    from server.demo import demo_passwords_in_use

    found = asyncio.run(demo_passwords_in_use(settings))
    if found:
        raise Refused(
            "refusing to start: these accounts still have the demo password (change them "
            "first): " + ", ".join(found)
        )


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


def _first_start(settings: Settings, args: argparse.Namespace) -> int:
    """`anxin admin ...` and `anxin import elders`: through the domains' flows, no server."""
    from server import first_start as fs
    from server.bus import InProcessBus
    from server.clock import make_clock
    from server.platform import Platform
    from server.store.engine import Store

    async def run() -> int:
        store = Store(settings.database_url)
        platform = Platform(settings, store, InProcessBus(), make_clock(settings.clock_start))
        try:
            if args.cmd == "import":
                report, lines = await fs.import_file(
                    platform,
                    args.file,
                    station_id=args.station,
                    dry_run=args.dry_run,
                    skip_bad=args.skip_bad,
                )
                print("\n".join(lines), flush=True)
                return 0 if not report.bad or (report.written and args.skip_bad) else 1
            if args.admin_cmd == "create-station":
                print(
                    await fs.create_station(
                        platform,
                        name=args.name,
                        lat=args.lat,
                        lng=args.lng,
                        coord_system=args.coord_system,
                        address=args.address,
                        district=args.district,
                        street=args.street,
                        phone=args.phone,
                        circle_minutes=args.circle_minutes,
                    ),
                    flush=True,
                )
                return 0
            password = fs.read_password(
                fs.PasswordSource(env=args.password_env, stdin=args.password_stdin),
                environment(),
            )
            user = fs.NewUser(
                role=args.role,
                username=args.username,
                name=args.name,
                password=password,
                station_id=args.station,
                phone=args.phone,
                district=args.district,
                street=args.street,
            )
            print(await fs.create_user(platform, user), flush=True)
            return 0
        finally:
            await store.dispose()

    try:
        return asyncio.run(run())
    except fs.CommandRefused as exc:
        raise Refused(str(exc), code=1) from None


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
    admin = sub.add_parser("admin", help="a first start: the station and its accounts")
    admin_sub = admin.add_subparsers(dest="admin_cmd", required=True)
    station = admin_sub.add_parser("create-station", help="create a station")
    station.add_argument("--name", required=True)
    station.add_argument("--lat", type=float, required=True)
    station.add_argument("--lng", type=float, required=True)
    station.add_argument(
        "--coord-system", default="gcj02", choices=["gcj02", "wgs84", "bd09"], help="of the point"
    )
    station.add_argument("--address", default="")
    station.add_argument("--district", default=None)
    station.add_argument("--street", default="")
    station.add_argument("--phone", default=None)
    station.add_argument("--circle-minutes", type=int, default=15)
    user = admin_sub.add_parser("create-user", help="create a sign-in account")
    user.add_argument(
        "--role", required=True, choices=["operator", "caregiver", "officer", "admin"]
    )
    user.add_argument("--username", required=True)
    user.add_argument("--name", required=True, help="the name people see")
    user.add_argument("--station", type=int, default=None, help="operators and caregivers")
    user.add_argument("--phone", default=None, help="caregivers sign in with it")
    user.add_argument("--district", default=None, help="officers: their district")
    user.add_argument("--street", default=None, help="street officers: their street")
    pw = user.add_mutually_exclusive_group()
    pw.add_argument("--password-env", metavar="NAME", help="read it from this variable")
    pw.add_argument("--password-stdin", action="store_true", help="read one line from stdin")
    imp = sub.add_parser("import", help="load the street office's lists")
    imp_sub = imp.add_subparsers(dest="import_cmd", required=True)
    el = imp_sub.add_parser("elders", help="the elder list (.xlsx or .csv)")
    el.add_argument("file", type=Path)
    el.add_argument("--station", type=int, required=True)
    el.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    el.add_argument(
        "--skip-bad", action="store_true", help="import the correct rows even if some are wrong"
    )
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
    if settings.production and args.cmd == "demo":
        raise Refused("refusing to seed the demo in production mode (ANXIN_PRODUCTION=1)")
    if args.cmd == "serve":
        _serve(settings, args.host, args.port)
    elif args.cmd == "migrate":
        _migrate(settings)
    elif args.cmd == "demo":
        from server.demo import seed_demo

        _migrate(settings)
        clock = make_clock(settings.clock_start)
        summary = asyncio.run(seed_demo(settings, clock=clock))
        print(summary, flush=True)
        if not args.no_serve:
            _serve(settings, args.host, args.port, clock)
    elif args.cmd in ("admin", "import"):
        _ensure_schema(settings)
        return _first_start(settings, args)
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
