"""``lnob`` run in-process with click's runner, for tests that need its output but not a process of its own."""

from __future__ import annotations

from click.testing import CliRunner


def run_in_process(*args: str) -> tuple[int, str]:
    """Exit code and output of ``lnob ARGS``, ignoring the caller's database and Chroma settings."""
    from cli.main import cli

    result = CliRunner().invoke(cli, list(args), env={"LNOB_DATABASE_URL": None, "LNOB_CHROMA_URL": None})
    return result.exit_code, result.output
