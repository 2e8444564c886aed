"""Shared fixtures of the Python package's tests: the repository, the command-line binary
the numbers are checked against, and a runner for it.

The binary is `TRADEFLOW_BIN` if set, else the debug or release build of this clone
(`$CARGO_TARGET_DIR` or `target/`), the newest of the two: `.ci/run` builds it with
`cargo test` before pytest runs.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import List

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _binary() -> Path:
    given = os.environ.get("TRADEFLOW_BIN")
    if given:
        return Path(given).resolve()
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    found = [target / p / "tradeflow" for p in ("debug", "release")]
    found = [p for p in found if p.is_file()]
    if not found:
        pytest.exit(
            f"no tradeflow binary under {target}: build it first (`cargo build`) or set TRADEFLOW_BIN",
            returncode=1,
        )
    return max(found, key=lambda p: p.stat().st_mtime)


class Cli:
    """Runs the command-line binary from the repository's root."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(self.binary), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if ok and done.returncode != 0:
            raise AssertionError(
                f"tradeflow {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
            )
        return done

    def error(self, *args: str) -> str:
        """The message of a command that fails with exit 1, without its `error: `."""
        done = self(*args, ok=False)
        assert done.returncode == 1, (done.returncode, done.stderr)
        text = done.stderr.strip()
        assert text.startswith("error: "), text
        return text[len("error: "):]


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli(_binary())


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # Scenario paths in the tests are relative to the repository, as in the README.
    monkeypatch.chdir(ROOT)


def csv_files(folder: Path) -> List[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.csv") if "charts" not in p.parts)
