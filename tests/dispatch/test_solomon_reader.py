"""The benchmark reader accepts the whole VRPLIB VRPTW format, and results re-check."""

from __future__ import annotations

from pathlib import Path

from bench.solomon import check_routes, dimacs_matrix, read_vrptw, run_one, to_problem
from dispatch.routing import SolverParams

TINY = """NAME : tiny
TYPE : CVRPTW
DIMENSION : 5
CAPACITY : 3
EDGE_WEIGHT_TYPE : EUC_2D
NODE_COORD_SECTION
1 0 0
2 3 4
3 3 4
4 -3 -4
5 6 8
DEMAND_SECTION
1 0
2 1
3 1
4 2
5 1
TIME_WINDOW_SECTION
1 0 1000
2 0 100
3 0 100
4 0 100
5 0 200
SERVICE_TIME_SECTION
1 0
2 5
3 5
4 10
5 5
DEPOT_SECTION
1
-1
EOF
"""


def write(tmp_path: Path, text: str) -> str:
    """Write an instance file and return its path."""
    p = tmp_path / "tiny.vrp"
    p.write_text(text)
    return str(p)


def test_service_time_section_and_no_fleet(tmp_path: Path) -> None:
    """Per-node service times are read; no VEHICLES line means one vehicle per customer."""
    inst = read_vrptw(write(tmp_path, TINY))
    assert inst.service == [0.0, 5.0, 5.0, 10.0, 5.0]
    assert inst.vehicles == 4 and inst.capacity == 3 and inst.depot == 0


def test_service_time_header(tmp_path: Path) -> None:
    """A SERVICE_TIME header applies to every customer (not the depot)."""
    text = TINY.replace("EDGE_WEIGHT_TYPE", "SERVICE_TIME : 7\nVEHICLES : 2\nEDGE_WEIGHT_TYPE")
    text = text[: text.index("SERVICE_TIME_SECTION")] + text[text.index("DEPOT_SECTION") :]
    inst = read_vrptw(write(tmp_path, text))
    assert inst.service == [0.0, 7.0, 7.0, 7.0, 7.0] and inst.vehicles == 2


def test_dimacs_rounding_and_shared_coordinates(tmp_path: Path) -> None:
    """floor(10·euclid): 3-4-5 is 50 tenths; two customers at one place are 0 apart."""
    m = dimacs_matrix(read_vrptw(write(tmp_path, TINY)).coords)
    assert m[0][1] == 50 and m[1][2] == 0 and m[0][4] == 100
    assert dimacs_matrix([(0.0, 0.0), (1.0, 1.0)])[0][1] == 14  # 14.14 → 14


def test_solve_and_recheck(tmp_path: Path) -> None:
    """The tiny instance is solved, every customer served, and the routes re-check."""
    path = write(tmp_path, TINY)
    rec = run_one(path, SolverParams(time_limit_s=1, solution_limit=50), {}, peer=False)
    assert rec["feasible"] and rec["dropped"] == 0
    inst = read_vrptw(path)
    ok, dist, problems = check_routes(inst, [[n - 1 for n in r] for r in rec["routes"]])
    assert ok and not problems and dist / 10 == rec["distance"]
    assert sum(len(r) for r in rec["routes"]) == 4
    assert to_problem(inst).n == 5
