"""``lnob explore`` (the offline theme explorer from the command line), and the demo's "explore further" lines:
each runs as printed, from where the demo ran, whatever ``lnob`` is on PATH and whatever LNOB_* say."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.corpora import TEST_KEY


ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # not resolved: the virtual environment's bin, where `lnob` is
LNOB = BIN / "lnob"


def lnob(*args: str):
    from cli.main import cli

    env = {"LNOB_DATABASE_URL": None, "LNOB_CHROMA_URL": None, "LNOB_PSEUDONYM_KEY": TEST_KEY, "LNOB_PROGRESS": None}
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.mark.slow
def test_explore_writes_the_registered_explorer(demo_corpus):
    from analysis.reports.explorer import EXPLORER_KIND
    from analysis.reports import registry_of

    data_dir = str(demo_corpus.data_dir)
    result = lnob("--data-dir", data_dir, "explore", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"path", "id", "points"}
    path = Path(payload["path"])
    assert path.is_relative_to(demo_corpus.settings().exports_dir) and path.suffix == ".html"
    export = registry_of(demo_corpus.evidence()).get(payload["id"])
    assert export.kind == EXPLORER_KIND and payload["points"] == len(export.testimony_ids) > 0
    assert oct(path.stat().st_mode & 0o777) == "0o600"

    result = lnob("--data-dir", data_dir, "explore")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("theme explorer with ") and "open it in a browser" in lines[0]
    assert Path(lines[-1]).exists() and lines[-1] != payload["path"]
    listed = json.loads(lnob("--data-dir", data_dir, "exports", "list", "--json").stdout)["exports"]
    assert {e["id"] for e in listed if e["kind"] == EXPLORER_KIND} >= {payload["id"]}


@pytest.mark.slow
def test_explore_tells_to_analyse_first(tmp_path):
    data_dir = str(tmp_path / "data")
    assert lnob("--data-dir", data_dir, "db", "upgrade").exit_code == 0
    result = lnob("--data-dir", data_dir, "explore")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == ("error: this evidence base has not been analysed yet: run `lnob analyse` first, "
                                     "then `lnob explore`")


# -- the demo's lines ---------------------------------------------------------------------


def test_lnob_is_named_as_the_user_can_call_it(monkeypatch, tmp_path):
    from cli.demo import lnob_command

    monkeypatch.setattr(sys, "argv", [str(LNOB), "demo"])
    monkeypatch.setenv("PATH", os.pathsep.join([str(BIN), "/usr/bin", "/bin"]))
    assert lnob_command() == "lnob"
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.chdir(ROOT)
    assert lnob_command() == os.path.relpath(os.path.abspath(LNOB), ROOT)  # `.venv/bin/lnob`, from the checkout
    monkeypatch.chdir(tmp_path)
    assert lnob_command() == shlex.quote(os.path.abspath(LNOB))


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_demo_s_explore_further_lines_run_as_printed(demo_run):
    """The demo run from a folder of its own, with `lnob` not on PATH and LNOB_DATABASE_URL and LNOB_CHROMA_URL
    pointing at real data elsewhere: every printed line runs there, as printed, and reads the demo's data.

    The run is the session's (conftest's ``demo_run``: ``lnob --progress always demo --data-dir demo-data``)."""
    real = demo_run.real
    here = demo_run.folder
    env = demo_run.env
    demo = demo_run.result
    assert demo.returncode == 0, demo.stderr[-2000:]
    stages = [line for line in demo.stderr.replace("\r", "\n").splitlines() if line.startswith("[")]
    assert [line[:5] for line in stages] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert "analysing: done" in demo.stderr and "indexing  [" in demo.stderr

    output = demo.stdout.splitlines()
    start = output.index("Explore further (the demo has its own data dir; real data never mixes with it):")
    lines = []
    for line in output[start + 1:]:
        if not line.strip():
            break
        lines.append(line.strip())
    assert len(lines) >= 8
    prefix = f"{shlex.quote(os.path.abspath(LNOB))} --data-dir {here / 'demo-data'} --database-url '' --chroma-url ''"
    assert all(line.startswith(prefix + " ") for line in lines), lines
    assert any(line.endswith(" explore") for line in lines)
    for line in lines:
        done = subprocess.run(line, shell=True, cwd=here, env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        assert done.returncode == 0, (line, done.stderr[-2000:])
        assert "Traceback" not in done.stderr
    assert not real.exists()
