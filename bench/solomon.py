"""Solomon VRPTW benchmark: the day planner's routing core on public instances, PyVRP beside it.

    python -m bench.solomon /work/shared/benchmarks/solomon/*.vrp --time-limit 5

Prints one JSON line per instance (and a summary line on stderr). Distances follow the
distance-only DIMACS convention: every arc is floor(10 * euclid) / 10; the solver works in
tenths as integers. Routes list the customers by their node number in the file (the depot
is node 1 in Solomon files).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vrplib

from dispatch.routing import (
    DEFAULT_PORTFOLIO,
    RoutingProblem,
    SolverParams,
    VehicleSpec,
    solve,
)

DEFAULT_BKS = Path("/work/shared/benchmarks/solomon/BKS_distance_only.csv")
SCALE = 10  # tenths


@dataclass(frozen=True)
class VrptwInstance:
    """A VRPTW read from VRPLIB text; index 0..n-1 as in the file's node order."""

    name: str
    coords: list[tuple[float, float]]
    demand: list[int]
    windows: list[tuple[float, float]]
    service: list[float]
    vehicles: int
    capacity: int
    depot: int
    # EDGE_WEIGHT_TYPE: EXPLICIT: the file's distances (and travel times), in its units.
    weights: list[list[float]] | None = None

    @property
    def n(self) -> int:
        """Number of nodes, the depot included."""
        return len(self.demand)


def read_vrptw(path: str | Path) -> VrptwInstance:
    """Read a VRPLIB VRPTW file: SERVICE_TIME header or section, any fleet and capacity,
    Euclidean coordinates or an explicit matrix (EDGE_WEIGHT_TYPE: EXPLICIT). One depot:
    a file with several is refused with a ValueError (multi-depot is another problem)."""
    d: dict[str, Any] = vrplib.read_instance(str(path), compute_edge_weights=False)
    explicit = str(d.get("edge_weight_type", "")).upper() == "EXPLICIT"
    weights: list[list[float]] | None = None
    if explicit:
        if "edge_weight" not in d:
            raise ValueError(f"{path}: EXPLICIT edge weights but no EDGE_WEIGHT_SECTION")
        weights = [[float(x) for x in row] for row in d["edge_weight"]]
    if "node_coord" in d:
        coords = [(float(x), float(y)) for x, y in d["node_coord"]]
    elif weights is not None:
        coords = []
    else:
        raise ValueError(f"{path}: neither NODE_COORD_SECTION nor explicit edge weights")
    n = len(weights) if weights is not None else len(coords)
    if weights is not None and any(len(row) != n for row in weights):
        raise ValueError(f"{path}: the edge-weight matrix is not square")
    demand = [int(q) for q in d.get("demand", [0] * n)]
    if "time_window" in d:
        windows = [(float(a), float(b)) for a, b in d["time_window"]]
    else:
        windows = [(0.0, 1e9)] * n
    st = d.get("service_time", 0)
    service = [float(s) for s in st] if hasattr(st, "__len__") else [float(st)] * n
    depots = [int(x) for x in d.get("depot", [0])]
    if len(depots) > 1:
        listed = ", ".join(str(x + 1) for x in depots)
        raise ValueError(
            f"{path}: {len(depots)} depots ({listed}); only single-depot VRPTW is supported"
        )
    depot = depots[0] if depots else 0
    service[depot] = 0.0
    vehicles = int(d.get("vehicles", n - 1) or n - 1)
    capacity = int(d.get("capacity", sum(demand) or 1))
    name = str(d.get("name", Path(path).stem))
    return VrptwInstance(name, coords, demand, windows, service, vehicles, capacity, depot, weights)


def instance_matrix(inst: VrptwInstance) -> list[list[int]]:
    """Distances (= travel times) in tenths: DIMACS-rounded Euclidean, or the explicit
    matrix of the file (rounded to tenths)."""
    if inst.weights is not None:
        return [[round(SCALE * w) for w in row] for row in inst.weights]
    return dimacs_matrix(inst.coords)


def dimacs_matrix(coords: Sequence[tuple[float, float]]) -> list[list[int]]:
    """floor(10 * euclid) as integers (tenths)."""
    return [
        [int(math.floor(SCALE * math.hypot(a[0] - b[0], a[1] - b[1]) + 1e-9)) for b in coords]
        for a in coords
    ]


def to_problem(inst: VrptwInstance) -> RoutingProblem:
    """The instance as a routing problem for dispatch.routing (times and costs in tenths)."""
    m = instance_matrix(inst)
    n = inst.n
    windows = [(math.ceil(a * SCALE), math.floor(b * SCALE)) for a, b in inst.windows]
    service = [round(s * SCALE) for s in inst.service]
    horizon = windows[inst.depot][1]
    # A customer left out costs more than any route could, so all are served if possible.
    penalty = 100 * (max(max(r) for r in m) + 1) * n
    return RoutingProblem(
        travel=[m],
        service=service,
        windows=windows,
        vehicles=[
            VehicleSpec(
                start=inst.depot,
                end=inst.depot,
                earliest=windows[inst.depot][0],
                latest=horizon,
                capacity=inst.capacity,
            )
            for _ in range(inst.vehicles)
        ],
        penalties=[None if i == inst.depot else penalty for i in range(n)],
        demands=inst.demand,
        horizon=horizon,
    )


def check_routes(
    inst: VrptwInstance, routes: Sequence[Sequence[int]]
) -> tuple[bool, int, list[str]]:
    """Re-cost and re-check routes (0-based indices): (feasible, distance in tenths, problems)."""
    m = instance_matrix(inst)
    problems: list[str] = []
    dist = 0
    seen: list[int] = []
    for r in routes:
        if not r:
            continue
        t = inst.windows[inst.depot][0] * SCALE
        load = 0
        prev = inst.depot
        for node in r:
            t = max(t + inst.service[prev] * SCALE + m[prev][node], inst.windows[node][0] * SCALE)
            if t > inst.windows[node][1] * SCALE + 1e-6:
                problems.append(f"late at {node + 1}")
            dist += m[prev][node]
            load += inst.demand[node]
            prev = node
            seen.append(node)
        dist += m[prev][inst.depot]
        t += inst.service[prev] * SCALE + m[prev][inst.depot]
        if t > inst.windows[inst.depot][1] * SCALE + 1e-6:
            problems.append("late back at the depot")
        if load > inst.capacity:
            problems.append(f"over capacity {load}")
    if len([r for r in routes if r]) > inst.vehicles:
        problems.append("too many vehicles")
    if sorted(seen) != [i for i in range(inst.n) if i != inst.depot]:
        problems.append("customers missing or repeated")
    return not problems, dist, problems


def load_bks(path: Path | Sequence[Path]) -> dict[str, tuple[int | None, float]]:
    """instance -> (vehicles, distance) from one or more reference csv files (instance,
    vehicles, distance[, source]); a later file does not override an earlier one, so list
    published best-known values before stand-in references."""
    paths = [path] if isinstance(path, Path) else list(path)
    out: dict[str, tuple[int | None, float]] = {}
    for p in paths:
        if not p.exists():
            continue
        with p.open(newline="") as f:
            for row in csv.DictReader(f):
                vehicles = int(row["vehicles"]) if row["vehicles"] else None
                out.setdefault(row["instance"], (vehicles, float(row["distance"])))
    return out


def run_pyvrp(path: str, time_limit: float, seed: int) -> dict[str, Any]:
    """The peer: PyVRP with the DIMACS rounding and the same time limit."""
    from pyvrp import read
    from pyvrp import solve as pyvrp_solve
    from pyvrp.stop import MaxRuntime

    t0, c0 = time.perf_counter(), time.process_time()
    data = read(path, round_func="dimacs")
    res = pyvrp_solve(data, stop=MaxRuntime(time_limit), seed=seed, display=False)
    best = res.best
    return {
        "distance": best.distance() / SCALE,
        "vehicles": best.num_routes(),
        "feasible": bool(best.is_feasible()),
        "seconds": round(time.perf_counter() - t0, 2),
        "cpu_seconds": round(time.process_time() - c0, 2),
    }


def run_one(
    path: str,
    params: SolverParams,
    bks: dict[str, tuple[int | None, float]],
    peer: bool,
    baseline: bool = False,
) -> dict[str, Any]:
    """Solve one file and return its JSON record."""
    inst = read_vrptw(path)
    t0, c0 = time.perf_counter(), time.process_time()
    sol = solve(to_problem(inst), params)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    routes = [[s.node for s in r] for r in sol.routes if r]
    feasible, dist, problems = check_routes(inst, routes)
    distance = dist / SCALE
    rec: dict[str, Any] = {
        "instance": inst.name,
        "vehicles": len(routes),
        "distance": round(distance, 1),
        "feasible": feasible and sol.found,
        "dropped": len(sol.dropped),
        "bks_vehicles": None,
        "bks_distance": None,
        "gap_pct": None,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),  # less than seconds when the machine is busy
        "start": sol.start_strategy,
        # where the time went: (phase, seconds at its end, objective in tenths after it)
        "phases": [list(x) for x in sol.phases],
    }
    if inst.name in bks:
        bv, bd = bks[inst.name]
        rec.update(bks_vehicles=bv, bks_distance=bd, gap_pct=round(100 * (distance - bd) / bd, 2))
    if problems:
        rec["problems"] = problems[:5]
    if baseline:
        # OR-Tools as usually configured: PATH_CHEAPEST_ARC then guided local search.
        usual = SolverParams(
            first_solutions=("PATH_CHEAPEST_ARC",),
            time_limit_s=params.time_limit_s,
            seed=params.seed,
            ruin_and_recreate=False,
            lean_operators=False,
            portfolio_share=0.01,
            regions=False,
        )
        b0 = time.perf_counter()
        bsol = solve(to_problem(inst), usual)
        broutes = [[s.node for s in r] for r in bsol.routes if r]
        bok, bdist, _ = check_routes(inst, broutes)
        brec: dict[str, Any] = {
            "distance": round(bdist / SCALE, 1),
            "vehicles": len(broutes),
            "feasible": bok,
            "dropped": len(bsol.dropped),
            "seconds": round(time.perf_counter() - b0, 2),
        }
        if inst.name in bks:
            bd = bks[inst.name][1]
            brec["gap_pct"] = round(100 * (bdist / SCALE - bd) / bd, 2)
        rec["ortools_usual"] = brec
    if peer:
        try:
            p = run_pyvrp(path, params.time_limit_s, params.seed)
            if inst.name in bks:
                p["gap_pct"] = round(
                    100 * (p["distance"] - bks[inst.name][1]) / bks[inst.name][1], 2
                )
            rec["pyvrp"] = p
        except ImportError:
            rec["pyvrp"] = None
    rec["routes"] = [[node + 1 for node in r] for r in routes]
    return rec


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 2) if xs else None


def main(argv: list[str]) -> int:
    """`anxin bench solomon FILE... --time-limit SECONDS`."""
    ap = argparse.ArgumentParser(prog="anxin bench solomon", description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", help="VRPLIB VRPTW files")
    ap.add_argument("--time-limit", type=float, default=5.0, help="seconds per instance")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--bks",
        type=Path,
        action="append",
        help="distance-only reference csv (repeatable; the first file naming an instance wins)",
    )
    ap.add_argument(
        "--first-solutions",
        default=",".join(DEFAULT_PORTFOLIO),
        help="comma-separated OR-Tools first-solution strategies, tried in turn",
    )
    ap.add_argument("--metaheuristic", default="GUIDED_LOCAL_SEARCH")
    ap.add_argument("--no-ruin", action="store_true", help="skip the ruin-and-recreate phase")
    ap.add_argument(
        "--no-regions",
        action="store_true",
        help="no region search on large instances (the whole-model pipeline at every size)",
    )
    ap.add_argument("--polish-share", type=float, default=SolverParams.polish_share)
    ap.add_argument("--temperature", default="7,0.07", help="SA start,end × average leg")
    ap.add_argument("--ruin-visits", type=int, default=SolverParams.ruin_visits)
    ap.add_argument("--full-operators", action="store_true", help="keep OR-Tools' LNS operators")
    ap.add_argument(
        "--ils-local-search", action="store_true", help="local search after each ruin and recreate"
    )
    ap.add_argument("--portfolio-share", type=float, default=SolverParams.portfolio_share)
    ap.add_argument("--gls-lambda", type=float, default=SolverParams.gls_lambda)
    ap.add_argument("--no-peer", action="store_true", help="do not run PyVRP beside it")
    ap.add_argument(
        "--baseline",
        action="store_true",
        help="also run OR-Tools as usually configured (PATH_CHEAPEST_ARC + GLS)",
    )
    args = ap.parse_args(argv)
    params = SolverParams(
        first_solutions=tuple(s.strip() for s in args.first_solutions.split(",") if s.strip()),
        metaheuristic=args.metaheuristic,
        time_limit_s=args.time_limit,
        seed=args.seed,
        ruin_and_recreate=not args.no_ruin,
        polish_share=args.polish_share,
        temperature=tuple(float(x) for x in args.temperature.split(",")),  # type: ignore[arg-type]
        ruin_visits=args.ruin_visits,
        ruin_sequence=args.ruin_visits,
        lean_operators=not args.full_operators,
        ils_local_search=args.ils_local_search,
        portfolio_share=args.portfolio_share,
        gls_lambda=args.gls_lambda,
        regions=not args.no_regions,
    )
    bks = load_bks(args.bks or [DEFAULT_BKS])
    gaps: list[float] = []
    peer_gaps: list[float] = []
    usual_gaps: list[float] = []
    both: list[tuple[float, float]] = []
    usual_bad = 0
    infeasible = 0
    for path in args.files:
        try:
            rec = run_one(path, params, bks, peer=not args.no_peer, baseline=args.baseline)
        except ValueError as exc:  # a file this benchmark does not take (e.g. multi-depot)
            print(json.dumps({"instance": path, "error": str(exc)}, ensure_ascii=False), flush=True)
            infeasible += 1
            continue
        print(json.dumps(rec, ensure_ascii=False), flush=True)
        # A gap means something only for a plan that serves everyone: a dropped customer
        # makes the distance shorter, not better. Each mean is over the instances its solver
        # served in full; `same_instances` compares ours and OR-Tools-as-usual on the ones
        # both served.
        ours_ok = rec["feasible"] and rec["dropped"] == 0
        if rec["gap_pct"] is not None and ours_ok:
            gaps.append(rec["gap_pct"])
        if rec.get("pyvrp") and rec["pyvrp"].get("gap_pct") is not None:
            peer_gaps.append(rec["pyvrp"]["gap_pct"])
        usual = rec.get("ortools_usual")
        usual_gap = usual.get("gap_pct") if usual and usual["feasible"] else None
        if usual_gap is not None:
            usual_gaps.append(usual_gap)
        elif usual:
            usual_bad += 1
        if usual_gap is not None and ours_ok and rec["gap_pct"] is not None:
            both.append((rec["gap_pct"], usual_gap))
        infeasible += 0 if ours_ok else 1
    summary = {
        "instances": len(args.files),
        "not_feasible_or_dropped": infeasible,
        "mean_gap_pct": _mean(gaps),
        "pyvrp_mean_gap_pct": _mean(peer_gaps),
        "ortools_usual_mean_gap_pct": _mean(usual_gaps),
        "ortools_usual_not_feasible_or_dropped": usual_bad if args.baseline else None,
        "same_instances": (
            {
                "n": len(both),
                "mean_gap_pct": _mean([a for a, _ in both]),
                "ortools_usual_mean_gap_pct": _mean([b for _, b in both]),
            }
            if both
            else None
        ),
        "time_limit": args.time_limit,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps({"summary": summary}), file=sys.stderr, flush=True)
    return 0 if infeasible == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
