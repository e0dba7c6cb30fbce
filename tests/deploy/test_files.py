"""The deployment files stay true to the code: the example environment names every ANXIN_*
variable the server reads, and the systemd unit is one systemd accepts without a warning."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.support import ROOT

ENV_EXAMPLE = ROOT / "deploy" / "anxin.env.example"
UNIT = ROOT / "deploy" / "systemd" / "anxin@.service"
SOURCES = ("server", "hotline", "dispatch", "schemas")


def variables_read_by_the_code() -> set[str]:
    found: set[str] = set()
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(re.findall(r"\bANXIN_[A-Z0-9_]*[A-Z0-9]\b", path.read_text("utf-8")))
    return found


def test_the_example_environment_names_every_variable() -> None:
    example = ENV_EXAMPLE.read_text("utf-8")
    named = set(re.findall(r"^#?\s*(ANXIN_[A-Z0-9_]+)=", example, flags=re.MULTILINE))
    code = variables_read_by_the_code()
    assert "ANXIN_DATABASE_URL" in code  # the scan itself works
    assert code - named == set(), "add them to deploy/anxin.env.example"


def test_the_systemd_unit_verifies_cleanly(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian's systemd package)")
    # The unit as installed, with ExecStart pointing at this tree's command (verify checks
    # that the program exists), as an instance: a template alone is not verified.
    anxin = Path(shutil.which("anxin") or ROOT / ".venv" / "bin" / "anxin")
    text = UNIT.read_text("utf-8").replace("/opt/anxin/.venv/bin/anxin", str(anxin))
    instance = tmp_path / "anxin@8081.service"
    instance.write_text(text, "utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(instance)], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
