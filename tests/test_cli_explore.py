"""``lnob explore`` (the offline theme explorer from the command line). The demo's "explore further" lines, which
include it, are run as printed in tests/test_cli.py, beside the other test of the session's ``lnob demo``."""

from __future__ import annotations

import json
import os
import shlex
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
def test_explore_says_when_it_holds_plotlys_full_bundle(demo_corpus, tmp_path, monkeypatch):
    from analysis.reports import plotlyjs, registry_of

    monkeypatch.setattr(plotlyjs, "installed_path", lambda: tmp_path / "not-installed.js")
    result = lnob("--data-dir", str(demo_corpus.data_dir), "explore", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)  # stdout stays one JSON object
    assert "opens more slowly: `make install`" in result.stderr
    export = registry_of(demo_corpus.evidence()).get(payload["id"])
    assert export.params == {"plotly_js": "full"}
    assert "plotly.js (basic" not in Path(payload["path"]).read_text(encoding="utf-8")


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
