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


EXPLICIT = """NAME : ex
TYPE : VRPTW
DIMENSION : 3
CAPACITY : 5
EDGE_WEIGHT_TYPE : EXPLICIT
EDGE_WEIGHT_FORMAT : FULL_MATRIX
EDGE_WEIGHT_SECTION
0 5 7
5 0 3
7 3 0
DEMAND_SECTION
1 0
2 1
3 1
TIME_WINDOW_SECTION
1 0 100
2 0 100
3 0 100
DEPOT_SECTION
1
-1
EOF
"""


def test_explicit_matrix_is_read_and_solved(tmp_path: Path) -> None:
    """EDGE_WEIGHT_TYPE: EXPLICIT (no coordinates): the file's matrix is the distance. One
    vehicle per customer by default, but one tour 0-1-2-0 costs 5+3+7 = 15 < 2x5 + 2x7."""
    f = tmp_path / "ex.vrp"
    f.write_text(EXPLICIT)
    inst = read_vrptw(f)
    assert inst.weights == [[0, 5, 7], [5, 0, 3], [7, 3, 0]] and inst.coords == []
    rec = run_one(str(f), SolverParams(time_limit_s=1, solution_limit=30), {}, peer=False)
    assert rec["feasible"] and rec["dropped"] == 0
    assert rec["distance"] == 15.0 and rec["routes"] in ([[2, 3]], [[3, 2]])


def test_a_second_depot_is_refused_clearly(tmp_path: Path) -> None:
    """A DEPOT_SECTION with two depots is not silently read as one depot and a customer."""
    import pytest

    f = tmp_path / "two.vrp"
    f.write_text(TINY.replace("DEPOT_SECTION\n1\n", "DEPOT_SECTION\n1\n3\n"))
    with pytest.raises(ValueError, match="2 depots"):
        read_vrptw(f)


def test_the_command_reports_a_refused_file_and_goes_on(tmp_path: Path, capsys: object) -> None:
    """`anxin bench solomon` prints an error line for a file it refuses, solves the rest."""
    import json

    from bench.solomon import main

    two = tmp_path / "two.vrp"
    two.write_text(TINY.replace("DEPOT_SECTION\n1\n", "DEPOT_SECTION\n1\n3\n"))
    ok = tmp_path / "ex.vrp"
    ok.write_text(EXPLICIT)
    code = main([str(two), str(ok), "--time-limit", "0.5", "--no-peer"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]  # type: ignore[attr-defined]
    assert code == 1 and "error" in lines[0] and lines[1]["dropped"] == 0
