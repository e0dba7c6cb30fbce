"""The caregiver's task URLs: today's tasks, and start, arrive, complete."""

from __future__ import annotations

from aiohttp import web

from schemas.tasks import MyTasksOut, TaskArriveIn, TaskCompleteIn, TaskOut
from server.auth.principal import Role
from server.http import int_param, ok, parse, platform, require
from server.openapi import doc
from server.tasks import flows


@doc(response=MyTasksOut)
async def my_tasks(request: web.Request) -> web.Response:
    """The signed-in caregiver's tasks today (Asia/Shanghai), in plan order when a plan exists."""
    p = require(request, Role.CAREGIVER)
    return ok(await flows.today(platform(request), p))


@doc(response=TaskOut)
async def start_task(request: web.Request) -> web.Response:
    """The caregiver sets off (idempotent: a retry from a flaky network changes nothing)."""
    p = require(request, Role.CAREGIVER)
    tid = int_param(request, "task_id")
    return ok(await flows.start(platform(request), p, tid))


@doc(response=TaskOut)
async def arrive_task(request: web.Request) -> web.Response:
    """The caregiver is at the door: the fix is checked against the elder's 200 m geofence."""
    p = require(request, Role.CAREGIVER)
    tid = int_param(request, "task_id")
    body = await parse(request, TaskArriveIn)
    return ok(await flows.arrive(platform(request), p, tid, body))


@doc(response=TaskOut)
async def complete_task(request: web.Request) -> web.Response:
    """Finish a task: a booking's visit is recorded, a meal delivery timed, a call noted."""
    p = require(request, Role.CAREGIVER, Role.OPERATOR)
    tid = int_param(request, "task_id")
    body = await parse(request, TaskCompleteIn)
    return ok(await flows.complete(platform(request), p, tid, body))


def routes() -> list[web.RouteDef]:
    """The caregiver task URLs."""
    return [
        web.get("/api/v1/me/tasks", my_tasks),
        web.post("/api/v1/tasks/{task_id}/start", start_task),
        web.post("/api/v1/tasks/{task_id}/arrive", arrive_task),
        web.post("/api/v1/tasks/{task_id}/complete", complete_task),
    ]
