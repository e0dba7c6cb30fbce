"""Closing the loop after help: the return call after an emergency, the quarterly
return-visit sample, and satisfaction answers with their rates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import insert, select

from hotline.followup import (
    ResolvedEmergency,
    SampledService,
    SatisfactionAnswer,
    SubsidisedElder,
    is_subsidised,
    quarter_days,
    quarter_name,
    return_call,
    sample_return_visits,
    sample_services,
    satisfaction_rates,
)
from schemas.hotline import Answer, SatisfactionIn
from server.auth.principal import Principal, Role
from server.errors import ApiError
from server.hotline.flows.common import elder_in_scope, scope_of
from server.hotline.flows.tasks import insert_new, task_row
from server.hotline.out import both, rate_out
from server.hotline.tables import satisfaction
from server.incidents.flows.presses import FALSE_ALARMS
from server.incidents.model import timeline
from server.incidents.tables import incidents
from server.planning.model import midnight
from server.platform import Platform, Tx
from server.registry.guards import elder_for
from server.registry.tables import caregivers, elders, stations
from server.tasks.tables import tasks
from server.texts import Text
from server.welfare.flows.rulesets import targets_for
from server.welfare.tables import service_records
from server.welfare.workdays import business_date

SATISFACTION_TARGET: Final = 0.95
SAMPLE_VISITS_WITHIN: Final = timedelta(days=30)
SERVICE_VISIT: Final = "return_service:"  # the source_ref prefix of a sampled service's visit


async def call_back_after(platform: Platform, incident_id: int) -> None:
    """A resolved emergency gets a return call within 24 hours (once)."""
    async with platform.tx() as tx:
        by_id = incidents.c.id == incident_id
        inc = (await tx.conn.execute(select(incidents).where(by_id))).first()
        if inc is None:
            return
        if inc.resolution in FALSE_ALARMS:
            # The caregiver was there and found a test press or a false alarm: the elder has
            # been seen and spoken to; a return call would only repeat that.
            await timeline(tx, inc.id, "return_call_skipped", None, resolution=inc.resolution)
            return
        call = return_call(
            ResolvedEmergency(inc.id, inc.elder_id, inc.station_id, inc.resolved_at or tx.now)
        )
        row = task_row(
            tx,
            station_id=call.station_id,
            elder_id=call.elder_id,
            kind="return_call",
            title=call.title,
            ref=call.source_ref,
            due=call.due_at,
        )
        await insert_new(tx, [row])


async def draw_sample(
    platform: Platform, *, station_id: int | None, quarter: str | None
) -> dict[str, Any]:
    """The quarter's return-visit sample as visit tasks; the quarter's name is the seed."""
    async with platform.tx() as tx:
        name = quarter or quarter_name(tx.now)
        cond: Any = elders.c.active.is_(True)
        if station_id is not None:
            cond &= elders.c.station_id == station_id
        cols = (elders.c.id, elders.c.station_id, elders.c.categories, elders.c.lat, elders.c.lng)
        rows = (await tx.conn.execute(select(*cols).where(cond))).all()
        frame = [
            SubsidisedElder(r.id, r.station_id) for r in rows if is_subsidised(r.categories or ())
        ]
        sample = await _sample_by_district(tx, frame, seed=name)
        where = {r.id: (r.lat, r.lng) for r in rows}
        created = await insert_new(tx, _visits(tx, name, sample, where))
        services, made = await _service_sample(tx, name, station_id)
        return {
            "quarter": name,
            "frame": len(frame),
            "sampled": sum(len(v) for v in sample.values()),
            "created": created + made,
            "by_station": {str(k): v for k, v in sample.items()},
            "by_provider": {str(k): v for k, v in services.items()},
        }


async def _districts(conn: Any, station_ids: Iterable[int]) -> dict[int, str]:
    q = select(stations.c.id, stations.c.district).where(stations.c.id.in_(set(station_ids)))
    return {r.id: r.district for r in await conn.execute(q)}


async def _sample_by_district(
    tx: Tx, frame: list[SubsidisedElder], *, seed: str
) -> dict[int, list[int]]:
    """Each district's stations sampled at the district's return-visit share."""
    district = await _districts(tx.conn, (e.station_id for e in frame))
    sample: dict[int, list[int]] = {}
    for d in sorted(set(district.values())):
        t = await targets_for(tx.conn, district=d, on=business_date(tx.now))
        mine = [e for e in frame if district[e.station_id] == d]
        sample.update(sample_return_visits(mine, seed=seed, fraction=t.return_visit_share))
    return sample


def service_ref(quarter: str, record_id: int) -> str:
    """A sampled service's return-visit task: its answer is about that record."""
    return f"{SERVICE_VISIT}{quarter}:{record_id}"


async def _service_sample(
    tx: Tx, quarter: str, station_id: int | None
) -> tuple[dict[int, list[int]], int]:
    """The quarter's services, ≥5% of each provider's (at least one), as return-visit tasks."""
    sr = service_records.c
    start, end = (midnight(d) for d in quarter_days(quarter))
    cond: Any = (sr.reversed.is_(False)) & (sr.started_at >= start)
    cond &= sr.started_at < end + timedelta(days=1)
    if station_id is not None:
        cond &= sr.station_id == station_id
    cols = (sr.id, sr.provider_id, sr.station_id, sr.elder_id, sr.item_name, elders.c.lat)
    rows = (
        await tx.conn.execute(
            select(*cols, elders.c.lng).join(elders, elders.c.id == sr.elder_id).where(cond)
        )
    ).all()
    sample = sample_services((SampledService(r.id, r.provider_id or 0) for r in rows), seed=quarter)
    chosen = {rid for ids in sample.values() for rid in ids}
    made = [
        task_row(
            tx,
            station_id=r.station_id,
            elder_id=r.elder_id,
            kind="visit",
            title=both(
                Text(
                    "hotline.task.service_visit",
                    {"quarter": quarter, "item": r.item_name, "record": r.id},
                )
            ),
            ref=service_ref(quarter, r.id),
            due=tx.now + SAMPLE_VISITS_WITHIN,
            priority=1,
            lat=r.lat,
            lng=r.lng,
        )
        for r in rows
        if r.id in chosen
    ]
    return sample, await insert_new(tx, made)


def _visits(
    tx: Tx, quarter: str, sample: dict[int, list[int]], where: dict[int, tuple[Any, Any]]
) -> list[dict[str, Any]]:
    title = both(Text("hotline.task.quarterly_visit", {"quarter": quarter}))
    return [
        task_row(
            tx,
            station_id=sid,
            elder_id=eid,
            kind="visit",
            title=title,
            ref=f"return_visit:{quarter}:{eid}",
            due=tx.now + SAMPLE_VISITS_WITHIN,
            priority=1,
            lat=where[eid][0],
            lng=where[eid][1],
        )
        for sid, ids in sample.items()
        for eid in ids
    ]


async def provider_of_station(tx: Tx, provider_id: int, station_id: int) -> int | None:
    """A provider (caregiver) named in a request must be one of the elder's station; returns
    her employer (服务组织) now, which the answer or complaint keeps if she moves."""
    by_id = caregivers.c.id == provider_id
    cols = (caregivers.c.station_id, caregivers.c.provider_id)
    row = (await tx.conn.execute(select(*cols).where(by_id))).first()
    if row is None or row.station_id != station_id:
        raise ApiError(
            422, "unknown_provider", "no such provider at this station", field="provider_id"
        )
    return int(row.provider_id) if row.provider_id is not None else None


async def _visit_of_elder(
    tx: Tx, task_id: int, elder_id: int, caregiver_id: int | None
) -> int | None:
    """The return-visit task an answer comes from must be this elder's; for a sampled service
    the caregiver it is about is that record's (unless the request names her)."""
    task = (
        await tx.conn.execute(
            select(tasks.c.elder_id, tasks.c.source_ref).where(tasks.c.id == task_id)
        )
    ).first()
    if task is None or task.elder_id != elder_id:
        raise ApiError(422, "unknown_task", "no such visit task of this elder", field="task_id")
    ref = str(task.source_ref or "")
    if caregiver_id is None and ref.startswith(SERVICE_VISIT):
        rid = int(ref.rsplit(":", 1)[1])
        sr = service_records.c
        got = (await tx.conn.execute(select(sr.caregiver_id).where(sr.id == rid))).scalar()
        return int(got) if got is not None else None
    return caregiver_id


async def _incident_of_elder(tx: Tx, incident_id: int, elder_id: int) -> None:
    by_id = incidents.c.id == incident_id
    inc = (await tx.conn.execute(select(incidents.c.elder_id).where(by_id))).first()
    if inc is None or inc.elder_id != elder_id:
        raise ApiError(
            422, "unknown_incident", "no such incident of this elder", field="incident_id"
        )


async def record_satisfaction(
    platform: Platform,
    *,
    station_id: int | None,
    is_admin: bool,
    user_id: int,
    elder_id: int,
    answer: Answer,
    provider_id: int | None,
    incident_id: int | None,
    channel: str,
    comment: str,
    task_id: int | None = None,
) -> int:
    """Store one answer."""
    async with platform.tx() as tx:
        e = await elder_in_scope(tx, elder_id, station_id, is_admin)
        if task_id is not None:
            provider_id = await _visit_of_elder(tx, task_id, elder_id, provider_id)
        employer = None
        if provider_id is not None:
            employer = await provider_of_station(tx, provider_id, int(e.station_id))
        if incident_id is not None:
            await _incident_of_elder(tx, incident_id, elder_id)
        stmt = insert(satisfaction).values(
            station_id=e.station_id,
            elder_id=elder_id,
            provider_id=provider_id,
            employer_id=employer,
            incident_id=incident_id,
            task_id=task_id,
            answer=answer.value,
            channel=channel,
            comment=comment,
            recorded_by=user_id,
            at=tx.now,
        )
        return int((await tx.conn.execute(stmt.returning(satisfaction.c.id))).scalar_one())


async def answer_satisfaction(platform: Platform, p: Principal, body: SatisfactionIn) -> int:
    """One satisfaction answer: the operator's by phone for their station's elder, or the elder's
    or a family member's in the app for their own elder (404 for anyone else's)."""
    station_id, is_admin = scope_of(p)
    if p.role in (Role.FAMILY, Role.ELDER):
        async with platform.store.read() as conn:
            await elder_for(conn, p, body.elder_id)
        is_admin, body = True, body.model_copy(update={"channel": "app"})
    return await record_satisfaction(
        platform,
        station_id=station_id,
        is_admin=is_admin,
        user_id=p.user_id,
        elder_id=body.elder_id,
        answer=body.answer,
        provider_id=body.provider_id,
        incident_id=body.incident_id,
        channel=body.channel,
        comment=body.comment,
        task_id=body.task_id,
    )


async def satisfaction_report(platform: Platform, *, station_id: int | None) -> dict[str, Any]:
    """Rates per provider and per station, each against its district's satisfaction target
    (``targets``: per district; ``target``: the one district's, when there is one)."""
    async with platform.store.read() as conn:
        cond: Any = satisfaction.c.id.is_not(None)
        if station_id is not None:
            cond &= satisfaction.c.station_id == station_id
        rows = (await conn.execute(select(satisfaction).where(cond))).all()
        ids = {r.station_id for r in rows} | ({station_id} if station_id else set())
        district = await _districts(conn, ids)
        today = business_date(platform.clock.now())
        targets = {
            d: (await targets_for(conn, district=d, on=today)).satisfaction
            for d in sorted(set(district.values()))
        }
    providers: list[Any] = []
    stations_: list[Any] = []
    for d, target in targets.items():
        p, s = satisfaction_rates(
            (
                SatisfactionAnswer(r.provider_id or 0, r.station_id, Answer(r.answer))
                for r in rows
                if district[r.station_id] == d
            ),
            target,
        )
        providers += p
        stations_ += s
    return {
        "target": next(iter(targets.values())) if len(targets) == 1 else SATISFACTION_TARGET,
        "targets": targets,
        "providers": [rate_out(r) for r in sorted(providers, key=lambda r: r.key)],
        "stations": [rate_out(r) for r in sorted(stations_, key=lambda r: r.key)],
    }
