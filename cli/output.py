"""How the CLI prints: tables for people, one JSON object for ``--json``, errors on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from enum import Enum

import click


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


def table(rows: Sequence[Sequence], headers: Sequence[str]) -> str:
    """A plain aligned text table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def fail(message: str, code: int = 1) -> None:
    """Print ``error: message`` on stderr and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def progress(length: int, label: str):
    """A progress bar on stderr (hidden when stderr is not a terminal and the job is short)."""
    return click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True, show_eta=True)
