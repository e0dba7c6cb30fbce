"""A station's first start from the command line: its station, its people, its elders.

    anxin admin create-station --name 仓红社区养老服务站 --lat 39.92 --lng 116.44 ...
    anxin admin create-user --role operator --station 1 --username liqing --name 李青
    anxin import elders 老人名单.xlsx --station 1 [--dry-run] [--skip-bad]

Accounts are made through the same flows as the API (same checks, same audit records, with
no actor). A password is asked for twice in a terminal, or read from an environment variable
or stdin, and refused when short, the demo's, or the login name."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from schemas.common import Location
from schemas.registry import DEFAULT_DISTRICT, CaregiverIn, OperatorIn, StationIn
from schemas.welfare import OfficerIn
from server.auth.principal import COMMAND_LINE, Role
from server.errors import ApiError
from server.platform import Platform
from server.registry.flows import caregivers, stations
from server.registry.flows.common import insert_user
from server.registry.flows.imports import Geocoder, ImportFailed, ImportReport, import_elders
from server.texts import Lang, Text, render
from server.texts.registry import ROLE_NAMES
from server.welfare.flows import officers

ROLES = ("operator", "caregiver", "officer", "admin")
# Refused whatever their length: the demo's, and what people type first.
WEAK = {"anxin1234", "password", "password1", "12345678", "123456789", "1234567890", "88888888"}


class CommandRefused(Exception):
    """One line for the person at the terminal."""


def _lang() -> Lang:
    return "zh"


def say(key: str, **params: object) -> str:
    return Text(key, params).render(_lang())


def _invalid(exc: ValidationError) -> CommandRefused:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return CommandRefused(f"{where}: {first.get('msg', 'invalid')}")


def _api(exc: ApiError) -> CommandRefused:
    return CommandRefused(f"{exc.code}: {exc.message}")


# ----- passwords ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PasswordSource:
    env: str | None = None  # the name of an environment variable holding it
    stdin: bool = False  # one line on standard input


def read_password(
    src: PasswordSource,
    environ: dict[str, str],
    *,
    prompt: Callable[[str], str] = getpass.getpass,
    tty: bool | None = None,
) -> str:
    if src.env:
        value = environ.get(src.env)
        if not value:
            raise CommandRefused(say("admin.password_missing"))
        return value
    if src.stdin:
        return sys.stdin.readline().rstrip("\n")
    if not (sys.stdin.isatty() if tty is None else tty):
        raise CommandRefused(say("admin.password_missing"))
    first = prompt(say("admin.password_prompt"))
    if prompt(say("admin.password_again")) != first:
        raise CommandRefused(say("admin.password_mismatch"))
    return first


def check_password(password: str, login: str, least: int) -> None:
    if len(password) < least:
        raise CommandRefused(say("admin.password_short", n=least))
    lowered = password.lower()
    if lowered in WEAK or lowered == login.lower() or len(set(password)) < 4:
        raise CommandRefused(say("admin.password_weak"))


# ----- commands -----------------------------------------------------------------------------


async def create_station(
    platform: Platform,
    *,
    name: str,
    lat: float,
    lng: float,
    coord_system: str,
    address: str,
    district: str | None,
    street: str,
    phone: str | None,
    circle_minutes: int,
) -> str:
    try:
        body = StationIn(
            name=name,
            location=Location(lat=lat, lng=lng, coord_system=coord_system),  # type: ignore[arg-type]
            address=address,
            street=street,
            phone=phone,
            circle_minutes=circle_minutes,
            district=district or DEFAULT_DISTRICT,
        )
        row = await stations.create(platform, COMMAND_LINE, body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    except ApiError as exc:
        raise _api(exc) from None
    return say("admin.station_created", name=row.name, id=row.id)


@dataclass(frozen=True)
class NewUser:
    """An account to make; ``officer`` is a street officer with ``street``, else a district
    one."""

    role: str
    username: str
    name: str
    password: str
    station_id: int | None = None
    phone: str | None = None
    district: str | None = None
    street: str | None = None


async def create_user(platform: Platform, u: NewUser) -> str:
    least = 10 if u.role in ("officer", "admin") else 8
    check_password(u.password, u.username, least)
    try:
        uid = await _create(platform, u)
    except ValidationError as exc:
        raise _invalid(exc) from None
    except ApiError as exc:
        raise _api(exc) from None
    shown = (
        u.role if u.role != "officer" else ("street_officer" if u.street else "district_officer")
    )
    zh, en = ROLE_NAMES[shown]
    return say("admin.user_created", role=zh if _lang() == "zh" else en, login=u.username, id=uid)


async def _create(platform: Platform, u: NewUser) -> int:
    if u.role in ("operator", "caregiver") and u.station_id is None:
        raise CommandRefused(say("admin.needs_station", role=u.role))
    if u.role == "operator":
        op = await stations.create_operator(
            platform,
            COMMAND_LINE,
            OperatorIn(
                station_id=u.station_id or 0,
                display_name=u.name,
                username=u.username,
                phone=u.phone,
                password=u.password,
            ),
        )
        return op.user_id
    if u.role == "caregiver":
        if not u.phone:
            raise CommandRefused(say("admin.needs_phone"))
        cg = await caregivers.create(
            platform,
            COMMAND_LINE,
            CaregiverIn(
                station_id=u.station_id or 0,
                name=u.name,
                phone=u.phone,
                username=u.username,
                password=u.password,
            ),
        )
        return int(cg.user_id)
    if u.role == "officer":
        if not u.district:
            raise CommandRefused(say("admin.needs_district"))
        out = await officers.create(
            platform,
            COMMAND_LINE,
            OfficerIn(
                username=u.username,
                display_name=u.name,
                password=u.password,
                role="street_officer" if u.street else "district_officer",
                district=u.district,
                street=u.street,
            ),
        )
        return out.user_id
    async with platform.tx() as tx:
        return await insert_user(
            tx,
            role=Role.ADMIN,
            username=u.username,
            phone=None,
            name=u.name,
            password=u.password,
            station_id=None,
        )


async def import_file(
    platform: Platform,
    path: Path,
    *,
    station_id: int,
    dry_run: bool,
    skip_bad: bool,
    geocoder: Geocoder | None = None,
) -> tuple[ImportReport, list[str]]:
    """The import and the lines to print (every bad row's errors, in Chinese)."""
    try:
        report = await import_elders(
            platform,
            path,
            station_id=station_id,
            dry_run=dry_run,
            skip_bad=skip_bad,
            geocoder=geocoder,
        )
    except ImportFailed as exc:
        raise CommandRefused(exc.text.render(_lang())) from None
    return report, report_lines(report, dry_run=dry_run, lang=_lang())


def report_lines(report: ImportReport, *, dry_run: bool, lang: Lang) -> list[str]:
    lines = []
    for r in report.bad:
        for e in r.errors:
            lines.append(render("import.row", lang, row=r.number, what=e.render(lang)))
    lines.append(
        render(
            "import.summary",
            lang,
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            bad=len(report.bad),
        )
    )
    if report.needs_location:
        lines.append(render("import.needs_location", lang, n=len(report.needs_location)))
        lines += [
            "  "
            + render(
                "import.needs_location_row",
                lang,
                row=r.number,
                name=r.values["name"],
                address=r.values["address"],
            )
            for r in report.needs_location
        ]
    if dry_run:
        lines.append(render("import.dry_run", lang))
    elif not report.written:
        lines.append(render("import.refused", lang, bad=len(report.bad)))
    return lines
