"""The solver in a worker process, with a watchdog: the jobs it runs (a day plan traded
against cover, a help call's insertion, lunch routes), the station's planning lock and its
travel model."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import resource
import signal
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any, TypeVar

from dispatch.cover import CoverReport, HighRiskElder, emergency_cover
from dispatch.dayplan import emergency_snapshot, insert_emergency, plan_day_with_cover
from dispatch.geo import GeoPoint
from dispatch.meals import Courier, MealOrder, MealParams, MealPlan, plan_meals
from dispatch.model import DayPlan, DaySnapshot, PlanParams, Task
from dispatch.routing import DEFAULT_PORTFOLIO, SolverParams
from dispatch.travel import GreatCircleTravel, TravelMode, TravelTimeModel, prefetch
from server.incidents.flows.alarms import raise_alarm
from server.platform import Platform

log = logging.getLogger("anxin.planning")


def station_lock(platform: Platform, station_id: int) -> AbstractAsyncContextManager[None]:
    """One planning at a time per station (a re-plan, a help call's insertion, meals), across
    every server process: a lock in the store, not in one process's memory."""
    return platform.store.lock("planning", station_id)


# ----- the solver in a worker process, with a watchdog ----------------------------------
#
# OR-Tools holds the GIL while it searches, so a search that does not stop (it happened:
# ruin and recreate spinning past any time limit) would freeze the whole server, and no
# thread can interrupt it. Every solve therefore runs in a child of a fork server (cheap
# to start, nothing of the event loop inherited) and is killed when it overruns its
# deadline; the caller then falls back to a solver-free plan and raises an alarm.

WATCHDOG_FACTOR = 6.0  # a solve may legitimately run a few limits (a start over time)
WATCHDOG_GRACE_S = 15.0
_CTX = multiprocessing.get_context("forkserver")
# The worker unpickles the jobs below by name: preload their module (and what it imports).
_CTX.set_forkserver_preload(["dispatch.dayplan", "dispatch.meals", "server.planning.flows.solve"])

T = TypeVar("T")


class SolverStalled(Exception):
    """The solver did not answer in time (killed) or failed in its process."""


class WorkerCpu:
    """CPU seconds the solver workers of this process have spent (they are children of the
    fork server, so the process's own accounting never sees them); the simulator reports it."""

    seconds: float = 0.0


def _cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def _worker(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    _die_with_parent()
    start = _cpu_s()
    try:
        answer: tuple[bool, Any, float] = (True, fn(*args), 0.0)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which falls back
        answer = (False, f"{type(exc).__name__}: {exc}", 0.0)
    answer = (answer[0], answer[1], _cpu_s() - start)
    try:
        conn.send(answer)
    except (BrokenPipeError, EOFError, OSError):
        os._exit(0)  # the server is gone or stopped waiting: nobody to tell, nothing to say
    finally:
        conn.close()


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the server process dies (SIGKILL included), so no
    solve outlives the server that asked for it."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def solver_params(platform: Platform, kind: str, time_limit_s: float) -> SolverParams:
    """The solver's limits for one kind of solve ("day_plan", "replan", "meals"): its time
    limit in production; under `settings.solver_work` (the simulator) a solution limit, under
    which no phase reads the clock (`safety_s` only sets the watchdog's deadline), and no
    region search (it gives each region a slice of wall-clock time), so that the plan
    depends on the inputs alone."""
    work = platform.settings.solver_work
    if work is None:
        return SolverParams(time_limit_s=time_limit_s, portfolio_share=0.2)
    solutions = {"day_plan": work.day_plan, "replan": work.replan, "meals": work.meals}[kind]
    params = SolverParams(
        time_limit_s=work.safety_s,
        solution_limit=solutions,
        seed=work.seed,
        portfolio_share=0.2,
        regions=False,
    )
    if kind != "meals":
        # Day plans and re-plans: only the portfolio's first start (on the five-station
        # day's captured day plans the other three never built a cheaper start), ruin and
        # recreate as before (most of the gain), and a polish by greedy descent, which stops
        # at a local optimum: guided local search's 200 solutions took a third to a half of
        # a fresh plan's CPU for 0-3 % of its objective, and on a repair got the same plan
        # at many times the CPU. No phase reads the clock (dispatch.routing).
        return replace(
            params, first_solutions=DEFAULT_PORTFOLIO[:1], metaheuristic="GREEDY_DESCENT"
        )
    # Lunch (pickup and delivery pairs: every move is slow) starts from local cheapest
    # insertion, skips ruin and recreate and polishes by greedy descent, which stops at a
    # local optimum: guided local search never reached its solution count there and every
    # lunch routing of the five-station day ran into the wall-clock cap (13-18 s of CPU per
    # kitchen, and plans that depended on the machine's load). Measured on that day's five
    # kitchens: 15 s of CPU instead of 52 s, 224 of 250 lunches routed instead of 222.
    return replace(
        params,
        first_solutions=("LOCAL_CHEAPEST_INSERTION",),
        ruin_and_recreate=False,
        metaheuristic="GREEDY_DESCENT",
    )


def greedy(platform: Platform) -> bool:
    """The simulator's phone-and-paper baseline (settings.dispatch_policy "greedy")."""
    return platform.settings.dispatch_policy == "greedy"


def deadline_for(time_limit_s: float) -> float:
    return WATCHDOG_FACTOR * time_limit_s + WATCHDOG_GRACE_S


async def run_guarded(fn: Callable[..., T], args: tuple[Any, ...], deadline_s: float) -> T:
    """Run `fn(*args)` in a worker process; SolverStalled when it is not done by the deadline
    (the process is killed) or fails."""
    parent, child = _CTX.Pipe(duplex=False)
    proc = _CTX.Process(target=_worker, args=(child, fn, args), daemon=True)
    try:
        await asyncio.to_thread(proc.start)
        child.close()
        try:
            # Waited for on the event loop, not in a thread: a server stopping (SIGTERM)
            # cancels the wait at once instead of sitting out the watchdog's deadline.
            await asyncio.wait_for(_readable(parent), deadline_s)
        except TimeoutError as exc:
            raise SolverStalled(f"no answer within {deadline_s:.0f} s") from exc
        try:
            done, value, cpu = await asyncio.to_thread(parent.recv)
            WorkerCpu.seconds += cpu
        except EOFError as exc:  # the worker died without a word
            raise SolverStalled(f"solver process died (exit {proc.exitcode})") from exc
        if not done:
            raise SolverStalled(str(value))
        return value  # type: ignore[no-any-return]
    finally:
        parent.close()
        if proc.pid is not None:  # started (a stop may cancel the start itself)
            if proc.is_alive():
                proc.kill()
            await asyncio.to_thread(proc.join, 5)


async def _readable(conn: Any) -> None:
    """Until the worker has written its answer (or died, which also makes the pipe ready)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    fd = conn.fileno()
    loop.add_reader(fd, lambda: None if ready.done() else ready.set_result(None))
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def day_job(
    snap: DaySnapshot, elders_: Sequence[HighRiskElder], params: PlanParams, travel: TravelTimeModel
) -> tuple[DayPlan, CoverReport]:
    """In the worker: the day plan traded against emergency cover."""
    return plan_day_with_cover(snap, elders_, params, travel=travel)


def emergency_job(
    snap: DaySnapshot,
    emergency: Task,
    caregiver_id: int,
    elders_: Sequence[HighRiskElder],
    params: PlanParams,
    travel: TravelTimeModel,
) -> tuple[DayPlan, CoverReport]:
    """In the worker: the help call inserted, the team repaired, and the cover after it."""
    plan = insert_emergency(snap, emergency, caregiver_id, params, travel=travel)
    with_call, _ = emergency_snapshot(snap, emergency, caregiver_id)
    return plan, emergency_cover(plan, with_call, elders_, params=params, travel=travel)


def meal_job(
    kitchen: GeoPoint,
    orders: Sequence[MealOrder],
    couriers: Sequence[Courier],
    params: MealParams,
    station: GeoPoint,
    travel: TravelTimeModel,
) -> MealPlan:
    """In the worker: lunch routes."""
    return plan_meals(kitchen, orders, couriers, params, station=station, travel=travel)


# Indirection for tests (a job that hangs); the worker imports it by name.
DAY_JOB: Callable[..., tuple[DayPlan, CoverReport]] = day_job
EMERGENCY_JOB: Callable[..., tuple[DayPlan, CoverReport]] = emergency_job


async def stalled(platform: Platform, station_id: int, what: str, exc: Exception) -> None:
    log.error("planning stalled at station %s (%s): %s", station_id, what, exc)
    async with platform.tx() as tx:
        await raise_alarm(
            tx,
            station_id,
            None,
            "planning_stalled",
            {"what": what},
        )


async def station_travel(
    platform: Platform, points: Sequence[GeoPoint], modes: Sequence[TravelMode]
) -> TravelTimeModel:
    """The station's travel model for a solve: road times fetched now (in a thread, in
    blocks) when a map service is configured, great-circle for anything it cannot answer."""
    from server.incidents.flows.snapshot import travel_model
    from server.travel import does_io

    model = travel_model(platform)
    if not does_io(model):
        return model if isinstance(model, GreatCircleTravel) else GreatCircleTravel()
    return await asyncio.to_thread(prefetch, model, points, modes)


def snapshot_points(snap: DaySnapshot, elders_: Sequence[HighRiskElder]) -> list[GeoPoint]:
    pts = [snap.station]
    for c in snap.caregivers:
        pts += [p for p in (c.location, c.home) if p is not None]
    pts += [t.location for t in snap.tasks]
    pts += [e.location for e in elders_]
    return pts
