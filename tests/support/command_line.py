"""``lnob`` for the tests: in-process with click's runner, and ``lnob demo`` in a subprocess as a newcomer runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from tests.support.corpora import TEST_KEY

LNOB = Path(sys.executable).parent / "lnob"  # not resolved: the virtual environment's bin, where `lnob` is


def run_in_process(*args: str) -> tuple[int, str]:
    """Exit code and output of ``lnob ARGS``, ignoring the caller's database and Chroma settings."""
    from cli.main import cli

    result = CliRunner().invoke(cli, list(args), env={"LNOB_DATABASE_URL": None, "LNOB_CHROMA_URL": None})
    return result.exit_code, result.output


@dataclass(frozen=True)
class DemoRun:
    """One ``lnob demo`` on a fresh data dir: where it ran, the environment it had, what it printed."""

    folder: Path  # the working directory; the data dir is given relative to it
    real: Path  # where LNOB_DATABASE_URL points: real data, which the demo must never touch
    env: dict[str, str]
    result: subprocess.CompletedProcess

    @property
    def data_dir(self) -> Path:
        return self.folder / "demo-data"


def run_demo(folder: Path) -> DemoRun:
    """``lnob --progress always demo --data-dir demo-data`` from ``folder``, with ``lnob`` not on PATH and
    LNOB_DATABASE_URL and LNOB_CHROMA_URL pointing at real data elsewhere."""
    real = folder.parent / f"{folder.name}-real"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LNOB_")}
    env |= {"PATH": "/usr/bin:/bin", "LNOB_PSEUDONYM_KEY": TEST_KEY,
            "LNOB_DATABASE_URL": f"sqlite:///{real / 'real.sqlite3'}", "LNOB_CHROMA_URL": "http://127.0.0.1:1"}
    result = subprocess.run([str(LNOB), "--progress", "always", "demo", "--data-dir", "demo-data"], cwd=folder,
                            env=env, capture_output=True, text=True, timeout=900, check=False)
    return DemoRun(folder=folder, real=real, env=env, result=result)
