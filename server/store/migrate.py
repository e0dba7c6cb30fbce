"""Run Alembic migrations programmatically (``anxin migrate``), and tell whether a database
is at the code's head revision (``anxin serve`` checks before it starts)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

HERE = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def autogenerate(url: str, message: str) -> None:
    command.revision(alembic_config(url), message=message, autogenerate=True)


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands against the migrations this version of the code ships."""

    current: str | None  # the revision stamped in the database; None when there is none
    head: str  # the code's head revision
    known: bool  # the stamped revision is one of the code's (False: a newer version's)
    has_tables: bool  # any table but Alembic's own (without a revision: built another way)

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def code_head(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


def schema_state(url: str) -> SchemaState:
    """Read the stamped revision (raises SQLAlchemy's or the OS's error when unreachable).

    A SQLite file that does not exist is reported empty without being created."""
    scripts = ScriptDirectory.from_config(alembic_config(url))
    head = code_head(url)
    path = make_url(url).database
    if url.startswith("sqlite") and path and path != ":memory:" and not Path(path).exists():
        return SchemaState(current=None, head=head, known=True, has_tables=False)
    current, has_tables = asyncio.run(_read_revision(url))
    return SchemaState(
        current=current, head=head, known=_known(scripts, current), has_tables=has_tables
    )


def _known(scripts: ScriptDirectory, revision: str | None) -> bool:
    # walk_revisions, not get_revision: the latter raises for a revision it never heard of
    return revision is None or revision in {s.revision for s in scripts.walk_revisions()}


def _revision_of(conn: Connection) -> tuple[str | None, bool]:
    # Read Alembic's table directly: its MigrationContext logs at INFO, and the refusal that
    # `anxin serve` prints must be the only line.
    tables = set(inspect(conn).get_table_names())
    current = None
    if "alembic_version" in tables:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return current, bool(tables - {"alembic_version"})


async def _read_revision(url: str) -> tuple[str | None, bool]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_revision_of)
    finally:
        await engine.dispose()


def regenerate_baseline() -> None:
    """Before the first release only: rebuild the single baseline revision from the tables."""
    import tempfile

    for old in (HERE / "migrations" / "versions").glob("*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        autogenerate(f"sqlite+aiosqlite:///{tmp}/empty.db", "baseline schema")


if __name__ == "__main__":
    regenerate_baseline()
