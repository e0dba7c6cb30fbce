"""The real ``anxin`` command in a child process, and waiting for things without asserting
on how long they took."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import pytest

from tests.support.proc import ServerProcess

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]

SECRET = "deploy-test-secret-0123456789abcdef0123"


def anxin(
    args: list[str], env: dict[str, str], *, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m server.cli ARGS``; ``env`` entries set to "" are removed."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env=child_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def child_env(env: dict[str, str]) -> dict[str, str]:
    """This process's environment with ``env`` over it; entries set to "" are removed."""
    full = {**os.environ, "ANXIN_LOG_LEVEL": "WARNING", **env}
    full = {k: v for k, v in full.items() if v != ""}
    # cwd may be a temporary directory: the package must still import from this tree.
    full["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), full.get("PYTHONPATH")) if p)
    return full


class Server(ServerProcess):
    """tests/support/proc.py's server process, started in a chosen working directory (the
    embedded default database lives in ./var) and on a chosen host and port."""

    def __init__(self, env: dict[str, str], log_path: Path, *, cwd: Path | None = None) -> None:
        super().__init__(env, log_path)
        self.env = child_env(env)
        self.cwd = cwd

    def start(self, **extra_env: str) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)],
            env={**self.env, **extra_env},
            cwd=self.cwd,
            stdout=log,
            stderr=log,
        )

    def stop(self) -> None:
        """SIGTERM and wait: the clean stop an operator does before a restore."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()


def missing_tool(what: str) -> NoReturn:
    """Skip without a tool the suite installs (scripts/provision.sh); fail under
    ANXIN_REQUIRE_BACKENDS=1 as the backend tests do (tests/support/backends.py)."""
    if os.environ.get("ANXIN_REQUIRE_BACKENDS") == "1":
        pytest.fail(f"{what} is required (ANXIN_REQUIRE_BACKENDS=1) but not installed")
    pytest.skip(f"{what} is not installed; `make test` (scripts/provision.sh) installs it")


def ok(done: subprocess.CompletedProcess[str]) -> str:
    """The command's stdout, after checking it succeeded (its output in the failure)."""
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


async def until(probe: Callable[[], Awaitable[T | None]], timeout: float = 60.0) -> T:
    """Poll until ``probe`` answers something truthy; a generous limit for a busy machine."""
    deadline = time.monotonic() + timeout
    while True:
        found = await probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.2)
