"""`anxin sim ...`: the simulator's command line, with the driver.

    anxin sim run SCENARIO.json --seed N [--policy anxin|greedy] [--out DIR] [--database-url URL]
        replay one day through the real system; writes DIR/kpis.json, calls.csv, tasks.csv,
        report.html (and log.jsonl)
    anxin sim compare SCENARIO.json --seeds 1-20 [--jobs N] [--database-url URL]
        both policies on the same seeds: policy × KPI, mean and 95 % interval, and the bound;
        --jobs N runs N of the seed × policy runs at once (processes, a store each)
    anxin sim validate | generate | schema ...   as `python -m sim` (sim/cli.py)

Exit codes: 0 done, 1 the scenario cannot run, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TextIO

from server.planning.flows.solve import WorkerCpu
from sim import cli as pure_cli
from sim.bound import bounds
from sim.day import DAY_S, Day
from sim.generate import generate
from sim.kpis import Kpis, compute
from sim.log import RunLog, write_jsonl
from sim.report import write_report
from sim.scenario import ScenarioError, load_scenario
from sim.stats import Interval, parse_seeds, summarise, table
from sim.write import write_calls, write_kpis, write_tasks
from simrun.driver import simulate

POLICIES = ("anxin", "greedy")
COMPARED = (
    "calls.real_emergencies",
    "calls.reachable",
    "calls.pct_of_reachable",
    "calls.on_scene_in_time",
    "calls.late_arrivals",
    "calls.response_s.p50",
    "calls.response_s.p90",
    "calls.response_s.max",
    "calls.time_to_accept_s.p50",
    "calls.offers_mean",
    "visits.done",
    "visits.late_15",
    "visits.missed",
    "caregivers.travel_min_total",
    "caregivers.overtime_min_total",
    "cover.uncovered_minutes",
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anxin sim", description="Anxin's district-day simulator")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="replay one day through the real system")
    r.add_argument("scenario", type=Path)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--policy", choices=POLICIES, default=None)
    r.add_argument("--out", type=Path, default=Path("sim-out"))
    r.add_argument("--database-url", default=None, help="an empty database (default: SQLite)")
    c = sub.add_parser("compare", help="both policies on the same seeds")
    c.add_argument("scenario", type=Path)
    c.add_argument("--seeds", default="1-20", help='e.g. "1-20" or "1,3,5"')
    c.add_argument("--database-url", default=None)
    c.add_argument(
        "--out",
        type=Path,
        default=None,
        help="also write compare.json here, and each run's files in POLICY-SEED/",
    )
    c.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes); default 1")
    for name in ("validate", "generate", "schema"):
        sub.add_parser(name, add_help=False)
    return p


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("validate", "generate", "schema"):
        return pure_cli.main(argv, out)
    stdout, stderr = out or sys.stdout, out or sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code in (0, None) else 2
    try:
        loaded = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(exc.text(), file=stderr)
        return 1
    for w in loaded.warnings:
        print(str(w), file=stderr)
    if args.command == "run":
        if args.seed < 0:
            print("--seed must be >= 0", file=stderr)
            return 2
        policy = args.policy or loaded.scenario.policy.default
        day = generate(loaded.scenario, args.seed)
        t0 = cpu_seconds()
        log = asyncio.run(
            simulate(day, policy, database_url=args.database_url, progress=_bar(policy, args.seed))
        )
        cpu = cpu_seconds() - t0
        k = write_run(day, log, args.out)
        print(pure_cli.summary(day), file=stdout)
        c = k.calls
        print(
            f"{policy}, seed {args.seed}: {c.on_scene_in_time_reachable}/{c.reachable} reachable "
            f"emergencies on scene within {k.sla_s // 60} min, {c.late_arrivals} late; visits "
            f"{k.visits.done}/{k.visits.total} done; {cpu:.1f} s CPU; wrote {args.out}/",
            file=stdout,
        )
        return 0 if k.completeness.ok else 1
    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as exc:
        print(f"--seeds: {exc}", file=stderr)
        return 2
    if args.jobs < 1 or (args.jobs > 1 and args.database_url is not None):
        print("--jobs must be >= 1, and 1 with --database-url (one database each)", file=stderr)
        return 2
    text, data = compare(
        loaded.scenario,
        seeds,
        database_url=args.database_url,
        jobs=args.jobs,
        progress=sys.stderr.isatty(),
        runs_out=args.out,
    )
    print(text, file=stdout)
    per_run = data["cpu_s"]
    assert isinstance(per_run, dict)
    print(
        "CPU per run (s, with solver workers): "
        + ", ".join(f"{p} {per_run[p]:.1f}" for p in POLICIES),
        file=stdout,
    )
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "compare.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    return 0


def cpu_seconds() -> float:
    """CPU time of this process and of the planner's solver workers."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime + WorkerCpu.seconds


def write_run(day: Day, log: RunLog, out: Path) -> Kpis:
    """Write a run's files into `out` (created); returns its KPIs."""
    out.mkdir(parents=True, exist_ok=True)
    b = bounds(day)
    k = compute(day, log, b)
    write_kpis(k, out / "kpis.json")
    write_calls(day, log, b, out / "calls.csv")
    write_tasks(day, log, out / "tasks.csv")
    write_report(day, log, k, b, out / "report.html")
    write_jsonl(log, out / "log.jsonl")
    return k


def compare(
    scenario: object,
    seeds: Sequence[int],
    *,
    database_url: str | None = None,
    jobs: int = 1,
    progress: bool = True,
    runs_out: Path | None = None,
) -> tuple[str, dict[str, object]]:
    """Both policies on each seed; the table and its data. With `jobs` > 1 the runs (seed ×
    policy) go to that many processes, each on its own store; the answer is the serial one.
    With `runs_out`, each run also writes its files (as `sim run` does) into
    `runs_out/POLICY-SEED/`, so that a compare's late calls can be read one by one."""
    from schemas.sim import Scenario

    assert isinstance(scenario, Scenario)
    runs: dict[str, list[dict[str, float]]] = {p: [] for p in POLICIES}
    bound_runs = [_bound_row(generate(scenario, seed)) for seed in seeds]
    wanted = [(seed, policy) for seed in seeds for policy in POLICIES]
    done = _run_all(scenario, wanted, database_url, jobs, progress, runs_out)
    cpu: list[float] = []
    for key in wanted:  # in seed order, whatever order the processes finished in
        flat, seconds = done[key]
        runs[key[1]].append(flat)
        cpu.append(seconds)
    by_policy: dict[str, dict[str, Interval]] = {p: summarise(runs[p]) for p in POLICIES}
    by_policy["bound"] = summarise(bound_runs)
    head = f"{scenario.name}: {len(seeds)} seed(s) {seeds[0]}..{seeds[-1]}, mean ± 95 % interval"
    text = head + "\n" + table(by_policy, COMPARED)
    data = {p: {m: iv.__dict__ for m, iv in v.items()} for p, v in by_policy.items()}
    return text, {"seeds": list(seeds), "policies": data, "cpu_s": _cpu_summary(wanted, cpu)}


def _bound_row(day: Day) -> dict[str, float]:
    """The bound's column for one seed: every reachable real emergency on scene in time."""
    b = bounds(day)
    real = [c for c in day.calls if c.real_emergency]
    reach = [c for c in real if b[c.id].reachable]
    return {
        "calls.real_emergencies": float(len(real)),
        "calls.reachable": float(len(reach)),
        "calls.pct_of_reachable": 100.0 if reach else 0.0,
        "calls.on_scene_in_time": float(len(reach)),
        "calls.late_arrivals": 0.0,
    }


def one_run(
    scenario: object,
    seed: int,
    policy: str,
    database_url: str | None,
    bar: bool = False,
    out: Path | None = None,
) -> tuple[dict[str, float], float]:
    """One seed under one policy, on a fresh store: its KPIs (flat) and the CPU it took (this
    process and its solver workers); its files written into `out/POLICY-SEED/` when given.
    Top-level, so that a worker process can run it."""
    from schemas.sim import Scenario

    assert isinstance(scenario, Scenario)
    day = generate(scenario, seed)
    t0 = cpu_seconds()
    log = asyncio.run(
        simulate(
            day, policy, database_url=database_url, progress=_bar(policy, seed) if bar else None
        )
    )
    cpu = cpu_seconds() - t0
    if out is not None:
        return write_run(day, log, out / f"{policy}-{seed}").flat(), cpu
    return compute(day, log, bounds(day)).flat(), cpu


Done = dict[tuple[int, str], tuple[dict[str, float], float]]


def _run_all(
    scenario: object,
    wanted: Sequence[tuple[int, str]],
    database_url: str | None,
    jobs: int,
    progress: bool,
    out: Path | None,
) -> Done:
    if jobs <= 1:
        return {
            (seed, policy): one_run(scenario, seed, policy, database_url, progress, out)
            for seed, policy in wanted
        }
    # Fresh interpreters (spawn): a forked copy of a process that has run an event loop and
    # a solver fork server is not safe. Each run makes its own SQLite store.
    ctx = multiprocessing.get_context("spawn")
    done: Done = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = {
            pool.submit(one_run, scenario, seed, policy, database_url, False, out): (seed, policy)
            for seed, policy in wanted
        }
        for fut in as_completed(futures):
            done[futures[fut]] = fut.result()
            if progress:
                seed, policy = futures[fut]
                print(f"{policy} seed {seed} done ({len(done)}/{len(wanted)})", file=sys.stderr)
    return done


def _cpu_summary(wanted: Sequence[tuple[int, str]], cpu: Sequence[float]) -> dict[str, float]:
    """Mean CPU seconds of one run per policy (the process and its solver workers)."""
    out: dict[str, float] = {}
    for policy in POLICIES:
        mine = [c for (_, p), c in zip(wanted, cpu, strict=True) if p == policy]
        out[policy] = round(sum(mine) / len(mine), 1) if mine else 0.0
    return out


def _bar(policy: str, seed: int) -> Callable[[int], None] | None:
    """A progress bar on stderr, only on a terminal."""
    if not sys.stderr.isatty():
        return None
    last = [-1]

    def show(t: int) -> None:
        pct = min(100, t * 100 // DAY_S)
        if pct == last[0]:
            return
        last[0] = pct
        filled = pct * 30 // 100
        hh, mm = divmod(t // 60, 60)
        sys.stderr.write(
            f"\r{policy} seed {seed} [{'#' * filled}{'.' * (30 - filled)}] {hh:02d}:{mm:02d}"
        )
        if pct >= 100:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
