"""Run Alembic migrations programmatically (``anxin migrate``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

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


def regenerate_baseline() -> None:
    """Before the first release only: rebuild the single baseline revision from the tables."""
    import tempfile

    for old in (HERE / "migrations" / "versions").glob("*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        autogenerate(f"sqlite+aiosqlite:///{tmp}/empty.db", "baseline schema")


if __name__ == "__main__":
    regenerate_baseline()
