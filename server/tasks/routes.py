"""The caregiver's task URLs: today's tasks, and start, arrive, complete."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.tasks import MyTasksOut, TaskArriveIn, TaskCompleteIn, TaskOut, TaskStartIn
from server.auth.principal import Role
from server.http import int_param, ok, parse, parse_optional, platform, require
from server.incidents.idempotency import Floor, step_once
from server.openapi import doc
from server.tasks import flows
from server.tasks.tables import tasks


@doc(response=MyTasksOut)
async def my_tasks(request: web.Request) -> web.Response:
    """The signed-in caregiver's tasks today (Asia/Shanghai), in plan order when a plan exists."""
    p = require(request, Role.CAREGIVER)
    return ok(await flows.today(platform(request), p))


def _task_began(task_id: int) -> Floor:
    """A step on a task cannot have happened before the task was made."""

    async def floor(conn: AsyncConnection) -> datetime | None:
        return (
            await conn.execute(select(tasks.c.created_at).where(tasks.c.id == task_id))
        ).scalar()

    return floor


@doc(response=TaskOut, idempotency_key=True, idempotency_required=False)
async def start_task(request: web.Request) -> web.Response:
    """The caregiver sets off (idempotent: a retry from a flaky network changes nothing); a
    step queued on the phone comes with its device time and Idempotency-Key."""
    p = require(request, Role.CAREGIVER)
    tid = int_param(request, "task_id")
    body = await parse_optional(request, TaskStartIn)

    async def run() -> TaskOut:
        return await flows.start(platform(request), p, tid)

    return await step_once(request, p, body, run, floor=_task_began(tid))


@doc(response=TaskOut, idempotency_key=True, idempotency_required=False)
async def arrive_task(request: web.Request) -> web.Response:
    """The caregiver is at the door: the fix is checked against the elder's 200 m geofence."""
    p = require(request, Role.CAREGIVER)
    tid = int_param(request, "task_id")
    body = await parse(request, TaskArriveIn)

    async def run() -> TaskOut:
        return await flows.arrive(platform(request), p, tid, body)

    return await step_once(request, p, body, run, floor=_task_began(tid))


@doc(response=TaskOut, idempotency_key=True, idempotency_required=False)
async def complete_task(request: web.Request) -> web.Response:
    """Finish a task: a booking's visit is recorded, a meal delivery timed, a call noted."""
    p = require(request, Role.CAREGIVER, Role.OPERATOR)
    tid = int_param(request, "task_id")
    body = await parse(request, TaskCompleteIn)

    async def run() -> TaskOut:
        return await flows.complete(platform(request), p, tid, body)

    return await step_once(request, p, body, run, floor=_task_began(tid))


def routes() -> list[web.RouteDef]:
    """The caregiver task URLs."""
    return [
        web.get("/api/v1/me/tasks", my_tasks),
        web.post("/api/v1/tasks/{task_id}/start", start_task),
        web.post("/api/v1/tasks/{task_id}/arrive", arrive_task),
        web.post("/api/v1/tasks/{task_id}/complete", complete_task),
    ]
