"""How the CLI prints: tables for people, one JSON object for ``--json``, a CSV table for ``--csv``, errors on
stderr, and the stages and progress bars of long commands on a terminal.

Progress (``Progress``) is drawn on stderr only for a person at a terminal: never with ``--json``, never
when stderr is piped or captured, unless ``lnob --progress always`` (or ``LNOB_PROGRESS=always``) asks for
it (a log file you watch; the tests)::

    progress = Progress(shown=progress_shown(as_json), stages=2)
    progress.stage("importing")                       # "[1/2] importing"
    with progress.bar(len(rows), "storing") as bar:   # "storing  [######------------]  120/346  4 s"
        bar.update(120)
    with progress.steps(STAGES, "analysing") as step:
        Analysis(evidence).run(step)                  # one bar over the named stages
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from enum import Enum
from typing import Self

import click

from analysis.counting import WITHHELD_KEY, WITHHELD_TEXT

PROGRESS_MODES = ("auto", "always", "never")
LIST_SEPARATOR = "; "  # a list (or a breakdown) in one CSV cell: "en: 19; sw: 6"


def _default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(payload) -> None:
    """Print ``payload`` as one line of JSON on stdout."""
    click.echo(json.dumps(payload, default=_default, ensure_ascii=False))


def check_format(as_json: bool, as_csv: bool) -> None:
    """Stop with a usage error (exit 2) when both ``--json`` and ``--csv`` are given."""
    if as_json and as_csv:
        raise click.UsageError("--json and --csv cannot be used together: choose one")


def csv_cell(value) -> str:
    """One value as a CSV cell: lists joined with "; ", a breakdown as "KE: 12; NP: <5", a withheld one as its
    notice, dates in ISO form, true/false, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Mapping):
        if WITHHELD_KEY in value:
            return WITHHELD_TEXT
        return LIST_SEPARATOR.join(f"{k}: {csv_cell(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return LIST_SEPARATOR.join(csv_cell(v) for v in value)
    return str(value)


def emit_csv(rows: Iterable[Mapping], columns: Sequence[str]) -> None:
    """Print a CSV table on stdout: a header row of ``columns``, then one row per item (``csv_cell``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])
    click.echo(buffer.getvalue(), nl=False)


def table(rows: Sequence[Sequence], headers: Sequence[str]) -> str:
    """A plain aligned text table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def breakdown(labels: dict) -> str:
    """``"KE 12, BD ≥5, NP <5"``: a breakdown's labels in the order given (a protected one's: ``analysis.counting``)."""
    if WITHHELD_KEY in labels:
        return WITHHELD_TEXT
    return ", ".join(f"{k} {v}" for k, v in labels.items()) or "-"


def aggregate_only_note(shown: str) -> str:
    """What a command says when contributions match but none may be quoted; ``shown`` is their count as
    ``analysis.counting`` shows it ("12", "<5")."""
    matches = "1 contribution matches" if shown == "1" else f"{shown} contributions match"
    return f"{matches}, none may be quoted: their authors allowed aggregate use only"


def fail(message: str, code: int = 1) -> None:
    """Print ``error: message`` on stderr and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


# -- progress ----------------------------------------------------------------------------


def progress_shown(as_json: bool = False) -> bool:
    """Whether this call draws stages and bars on stderr: ``lnob --progress auto`` (the default) when stderr
    is a terminal, ``always`` even when it is not, ``never`` not at all; never with ``--json``."""
    if as_json:
        return False
    context = click.get_current_context(silent=True)
    mode = ((context.find_root().obj or {}).get("progress") if context is not None else None) or "auto"
    if mode == "auto":
        return sys.stderr.isatty()
    return mode == "always"


class Bar:
    """A progress bar redrawn in place on one line of stderr: ``indexing  [#####---------]  120/346  4 s``.

    ``update(n)`` advances it by ``n`` (the ``progress`` callbacks of ``analysis`` give the rows just done);
    it is redrawn at most ten times a second, and left on its own line when the ``with`` block ends.
    """

    WIDTH = 28

    def __init__(self, length: int, label: str) -> None:
        self.length = max(int(length), 0)
        self.label = label
        self.pos = 0
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._drawn: tuple[int, str] | None = None  # the position and label last drawn
        self._width = 0

    def __enter__(self) -> Self:
        self._draw(force=True)
        return self

    def __exit__(self, *exc) -> None:
        if self._drawn != (self.pos, self.label):  # an update the throttle held back
            self._draw(force=True)
        click.echo("", err=True)

    def update(self, n: int) -> None:
        """Advance by ``n`` items."""
        self.pos = min(self.pos + n, self.length) if self.length else self.pos + n
        self._draw(force=self.pos >= self.length)

    def show(self, pos: int, label: str | None = None) -> None:
        """Move to ``pos`` (and take ``label``), redrawing at once."""
        self.pos = min(max(pos, 0), self.length) if self.length else max(pos, 0)
        self.label = label or self.label
        self._draw(force=True)

    def line(self) -> str:
        """The bar as drawn now."""
        filled = self.WIDTH * self.pos // self.length if self.length else self.WIDTH
        seconds = time.monotonic() - self._started
        return f"{self.label}  [{'#' * filled}{'-' * (self.WIDTH - filled)}]  {self.pos}/{self.length}  {seconds:.0f} s"

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn_at < 0.1:
            return
        self._drawn_at = now
        self._drawn = (self.pos, self.label)
        line = self.line()
        padding = " " * max(self._width - len(line), 0)  # wipe what a longer label left
        self._width = len(line)
        click.echo("\r" + line + padding, err=True, nl=False)


class _Hidden:
    """A bar that draws nothing (progress not shown)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, n: int) -> None:
        return None

    def show(self, pos: int, label: str | None = None) -> None:
        return None


class Progress:
    """The stages and progress bars of one long command, on stderr; nothing at all unless ``shown``
    (``progress_shown``)."""

    def __init__(self, shown: bool, stages: int = 0) -> None:
        self.shown = shown
        self.stages = stages
        self.done = 0

    def stage(self, text: str) -> None:
        """Start the next stage: ``[2/4] text`` (``… text`` when the command has no fixed stages)."""
        self.done += 1
        if self.shown:
            click.echo(f"[{self.done}/{self.stages}] {text}" if self.stages else f"… {text}", err=True)

    def bar(self, length: int, label: str) -> Bar | _Hidden:
        """A bar of ``length`` items (a context manager; ``analysis.ingest``'s ``bars`` take this method)."""
        return Bar(length, label) if self.shown else _Hidden()

    @contextmanager
    def steps(self, names: Sequence[str], label: str) -> Iterator[Callable[[str], None]]:
        """One bar over the named steps of a long call; yields its ``step`` callback (told each step's
        name as it starts, as ``Analysis.run`` does). A name not in ``names`` advances the bar by one."""
        with self.bar(len(names), label) as bar:
            position = [0]

            def step(name: str) -> None:
                position[0] = names.index(name) if name in names else min(position[0] + 1, len(names))
                bar.show(position[0], f"{label}: {name}")

            yield step
            bar.show(len(names), f"{label}: done")
