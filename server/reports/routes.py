"""The period report (JSON and XLSX) and the audit log's reader."""

from __future__ import annotations

from aiohttp import web

from schemas.reports import AuditQuery, ReportQuery
from server.auth.principal import Role
from server.http import ok, parse_query, platform, require
from server.reports import flows, out
from server.reports.model import period_of
from server.welfare.out import XLSX

READERS = (Role.OPERATOR, Role.STREET_OFFICER, Role.DISTRICT_OFFICER)


async def _report(request: web.Request) -> dict[str, object]:
    p = require(request, *READERS)
    q = parse_query(request, ReportQuery)
    places, rows, targets = await flows.report(platform(request), p, q)
    return out.report(period_of(q.period), places, rows, targets)


async def get_report(request: web.Request) -> web.Response:
    """KPIs of a month (`?period=2026-11`) or quarter (`2026Q4`) per station, street and
    district (`station_id`, `street`, `district` narrow it), with the total by month."""
    return ok(await _report(request))


async def get_report_xlsx(request: web.Request) -> web.Response:
    """The same report as an XLSX download."""
    body = await _report(request)
    return web.Response(
        body=out.xlsx(body),
        content_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="report-{body["period"]}.xlsx"'},
    )


async def get_audit_log(request: web.Request) -> web.Response:
    """The audit log, newest first (`from`, `to`, `action`, `object_type`, `actor_user_id`,
    `before`, `limit`): an operator reads their station's staff (and anyone's reads of the
    station's elders), a district officer the district's, an admin everyone's."""
    p = require(request, Role.OPERATOR, Role.DISTRICT_OFFICER)
    q = parse_query(request, AuditQuery)
    return ok(await flows.audit_page(platform(request), p, q))


def routes() -> list[web.RouteDef]:
    """The reports' URL table."""
    return [
        web.get("/api/v1/reports", get_report),
        web.get("/api/v1/reports.xlsx", get_report_xlsx),
        web.get("/api/v1/audit-log", get_audit_log),
    ]
