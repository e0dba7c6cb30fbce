"""The house's rules, read off the code itself (../shared/DESIGN.md, "The shape").

Pure cores import nothing of the server; the contract imports nothing of the project; the
platform knows no domain; every domain folder has the same files; every status write goes
through its domain's transition table; every sentence a person reads is in server/texts/.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = (
    "registry",
    "incidents",
    "tasks",
    "hotline",
    "services",
    "welfare",
    "planning",
    "console",
    "daycare",
    "assessments",
    "volunteers",
    "providers",
    "reports",
)
SHAPE = ("tables", "model", "flows", "routes", "out", "jobs")
# The platform: it may be imported by every domain and imports none.
PLATFORM = (
    "admission", "app", "bus", "clock", "errors", "faults", "geo", "http", "identity", "jobs", "keys",
    "logs", "machine", "metrics", "openapi", "ops", "platform", "push", "settings", "travel",
)  # fmt: skip
CJK = re.compile(r"[\u4e00-\u9fff]")


def _py(folder: str) -> Iterator[Path]:
    yield from sorted((ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("core", ["dispatch", "hotline"])
def test_pure_cores_import_nothing_of_the_server(core: str) -> None:
    bad = {
        _rel(p): sorted(
            m for m in _imports(p) if m.split(".")[0] in ("server", "sqlalchemy", "aiohttp")
        )
        for p in _py(core)
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_contract_imports_nothing_of_the_project() -> None:
    project = ("server", "hotline", "dispatch", "bench", "tests")
    bad = {
        _rel(p): sorted(m for m in _imports(p) if m.split(".")[0] in project)
        for p in _py("schemas")
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_platform_knows_no_domain() -> None:
    domains = tuple(f"server.{d}" for d in DOMAINS)
    files = [ROOT / "server" / f"{name}.py" for name in PLATFORM]
    files += list(_py("server/store")) + list(_py("server/auth"))
    bad = {
        _rel(p): sorted(
            m for m in _imports(p) if m.startswith(domains) and "migrations" not in str(p)
        )
        for p in files
        if "migrations" not in str(p)
    }
    assert {k: v for k, v in bad.items() if v} == {}


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_domain_has_the_same_files(domain: str) -> None:
    folder = ROOT / "server" / domain
    missing = [f for f in SHAPE if not (folder / f"{f}.py").exists() and not (folder / f).is_dir()]
    assert missing == []


STATUS_WRITE = re.compile(r"""\.values\((?:[^()]|\([^()]*\))*\bstatus\s*=\s*["']""")
AREAS = (*DOMAINS, "platform")


def _area(area: str) -> list[Path]:
    """A domain's files, or the platform's (the root of server/, auth, store, texts)."""
    if area != "platform":
        return list(_py(f"server/{area}"))
    return [
        p for p in _py("server") if p.parent.name not in DOMAINS and "migrations" not in _rel(p)
    ]


@pytest.mark.parametrize("area", AREAS)
def test_statuses_change_only_through_their_transition_tables(area: str) -> None:
    bad = [
        _rel(p)
        for p in _area(area)
        if p.name != "model.py" and STATUS_WRITE.search(p.read_text(encoding="utf-8"))
    ]
    assert bad == []


def _sentences(path: Path) -> list[int]:
    """Lines of string literals with Chinese in them, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    return sorted(
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and id(n) not in docs
        and CJK.search(n.value)
    )


# Data, not sentences: the seeded menu's item names, the demo's people and places.
DATA_FILES = {"server/services/catalogue.py", "server/demo.py", "server/welfare/demo.py"}


@pytest.mark.parametrize("area", AREAS)
def test_every_sentence_comes_from_the_texts(area: str) -> None:
    bad = {
        _rel(p): _sentences(p)
        for p in _area(area)
        if "server/texts/" not in _rel(p) and _rel(p) not in DATA_FILES
    }
    assert {k: v for k, v in bad.items() if v} == {}


# A child process inherits the server's environment (pg_dump, pg_restore): passed on, not read.
ENV_PASSED_ON = {"server/backup.py"}


def test_only_the_settings_read_the_environment() -> None:
    """Every knob is a setting, checked once at start and documented in one place."""
    readers = {
        _rel(p)
        for folder in ("server", "dispatch", "hotline", "schemas", "sim")
        for p in _py(folder)
        if re.search(r"os\.(environ|getenv)", p.read_text(encoding="utf-8"))
    }
    assert readers - {"server/settings.py"} - ENV_PASSED_ON == set()


def test_flows_and_jobs_never_import_routes() -> None:
    """Routes are the HTTP edge: they call flows, never the other way round."""
    bad = {
        _rel(p): sorted(m for m in _imports(p) if m.startswith("server.") and m.endswith(".routes"))
        for d in DOMAINS
        for p in _py(f"server/{d}")
        if "routes" not in p.name
    }
    assert {k: v for k, v in bad.items() if v} == {}
