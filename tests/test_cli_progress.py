"""``lnob --version``, and the stages and progress bars of long commands: on stderr at a terminal, never with
``--json`` or into a pipe, unless ``lnob --progress always`` (how these tests reach the terminal path: click's
runner is no terminal)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.support.corpora import TEST_KEY

ENV = {"LNOB_DATABASE_URL": None, "LNOB_CHROMA_URL": None, "LNOB_PSEUDONYM_KEY": TEST_KEY, "LNOB_PROGRESS": None}


def lnob(*args: str, env: dict | None = None):
    """The result of ``lnob ARGS`` run in-process (stdout and stderr apart)."""
    from cli.main import cli

    return CliRunner().invoke(cli, list(args), env={**ENV, **(env or {})})


def test_version_is_the_installed_package_s():
    result = lnob("--version")
    assert result.exit_code == 0 and result.stdout == f"lnob {importlib.metadata.version('lnob')}\n"


# -- the helpers -------------------------------------------------------------------------


def run_with_progress(body, *args: str, env: dict | None = None, command_args: tuple[str, ...] = ()):
    """Run ``body(progress)`` as the command of a group with lnob's --progress option; returns the result."""
    from cli.output import PROGRESS_MODES, Progress, progress_shown

    @click.group()
    @click.option("--progress", type=click.Choice(PROGRESS_MODES), default="auto", envvar="LNOB_PROGRESS")
    @click.pass_context
    def group(ctx, progress):
        ctx.obj = {"progress": progress}

    @group.command()
    @click.option("--json", "as_json", is_flag=True)
    def work(as_json):
        body(Progress(progress_shown(as_json), stages=2))
        click.echo("result")

    return CliRunner().invoke(group, [*args, "work", *command_args], env=env)


def stages_and_a_bar(progress) -> None:
    progress.stage("reading")
    with progress.bar(10, "indexing") as bar:
        bar.update(4)
        bar.update(6)
    progress.stage("analysing")
    with progress.steps(["one", "two", "three"], "analysing") as step:
        step("one")
        step("two")
        step("three")


def test_stages_and_bars_are_drawn_in_place_on_stderr_when_asked():
    result = run_with_progress(stages_and_a_bar, "--progress", "always")
    assert result.exit_code == 0, result.output
    assert result.stdout == "result\n"  # stdout is the command's own
    lines = result.stderr.split("\n")
    assert lines[0] == "[1/2] reading"
    frames = lines[1].split("\r")[1:]  # each frame redrawn over the last
    assert frames[0].startswith("indexing  [" + "-" * 28 + "]  0/10")
    assert frames[-1].startswith("indexing  [" + "#" * 28 + "]  10/10  ")
    assert lines[2] == "[2/2] analysing"
    frames = lines[3].split("\r")[1:]
    assert [frame.split("  [")[0] for frame in frames] == [
        "analysing", "analysing: one", "analysing: two", "analysing: three", "analysing: done"]
    assert frames[-1].rstrip().split("]  ")[1].startswith("3/3")
    assert all(len(frame) >= len(frames[0]) for frame in frames)  # a shorter label is padded over the longer


@pytest.mark.parametrize("args", [(), ("--progress", "auto"), ("--progress", "never")], ids=str)
def test_nothing_is_drawn_into_a_pipe(args):
    result = run_with_progress(stages_and_a_bar, *args)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "result\n", "")


def test_nothing_is_drawn_with_json_even_when_asked():
    result = run_with_progress(stages_and_a_bar, "--progress", "always", command_args=("--json",))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "result\n", "")


def test_the_environment_variable_asks_for_it_too():
    result = run_with_progress(stages_and_a_bar, env={"LNOB_PROGRESS": "always"})
    assert result.stderr.startswith("[1/2] reading\n")


def test_auto_draws_on_a_real_terminal():
    """``--progress auto`` (the default) with stderr on a pseudo-terminal: the stages are drawn."""
    script = (
        "import click\n"
        "from cli.output import Progress, progress_shown\n"
        "@click.command()\n"
        "def work():\n"
        "    click.echo(progress_shown())\n"
        "    Progress(progress_shown(), stages=1).stage('reading')\n"
        "work()\n"
    )
    main, secondary = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=secondary, text=True,
                              timeout=60, check=False, cwd=Path(__file__).resolve().parents[1])
        os.close(secondary)
        drawn = os.read(main, 1000).decode()
    finally:
        os.close(main)
    assert done.returncode == 0 and done.stdout == "True\n"
    assert "[1/1] reading" in drawn


# -- the long commands -------------------------------------------------------------------


@pytest.mark.slow
def test_analyse_reindex_import_and_report_show_their_progress(demo_corpus, tmp_path):
    from analysis.analyse import STAGES

    data_dir = str(tmp_path / "data")
    demo_corpus.copy(tmp_path / "data")
    result = lnob("--progress", "always", "--data-dir", data_dir, "analyse")
    assert result.exit_code == 0, result.output
    assert "themes over" in result.stdout.splitlines()[0]
    frames = result.stderr.rstrip("\n").split("\r")[1:]
    assert [f"analysing: {name}" for name in STAGES] == [f.split("  [")[0] for f in frames[1:-1]]
    assert frames[-1].startswith(f"analysing: done  [{'#' * 28}]  {len(STAGES)}/{len(STAGES)}")

    testimonies = demo_corpus.evidence().store.count_testimonies()
    result = lnob("--progress", "always", "--data-dir", data_dir, "reindex")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"indexed {testimonies} of {testimonies} testimonies (0 failed, left pending)\n"
    assert result.stderr.split("\r")[-1].startswith(f"reindexing  [{'#' * 28}]  {testimonies}/{testimonies}")
    for quiet in ([], ["--progress", "always"]):  # into a pipe; with --json even when asked
        plain = lnob(*quiet, "--data-dir", data_dir, "reindex", *(["--json"] if quiet else []))
        assert plain.exit_code == 0 and plain.stderr == ""

    rows = tmp_path / "few.csv"
    rows.write_text("text\nThe ferry stopped running after the storm.\n", encoding="utf-8")
    result = lnob("--progress", "always", "--data-dir", data_dir, "import", str(rows))
    assert result.exit_code == 0 and result.stderr == "… reading few.csv\n"

    result = lnob("--progress", "always", "--data-dir", data_dir, "report", "--country", "KE")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "[1/2] reading the evidence base",
        "[2/2] writing the KE report (md): drivers, themes, quotes, charts, gaps",
    ]
    assert Path(result.stdout.strip()).exists()
    result = lnob("--data-dir", data_dir, "report", "--country", "KE", "--json")
    assert result.stderr == "" and json.loads(result.stdout)["path"]
