"""Costly set-ups built once per test run, whether the tests run in one process or in pytest-xdist's workers.

``make test`` runs the suite in two worker processes (``pytest -n``). A
session fixture is per process, so each worker would build the analysed demo
corpus again (a minute or two of CPU each). ``built_once`` builds it once in
the folder the run's workers share, under a file lock: the first worker to
get there builds, the others wait and then use what it built. Without xdist
it simply builds in a fresh temporary folder::

    folder = built_once(tmp_path_factory, "demo-corpus", lambda folder: build(folder))

What is built there is shared: a worker that changes it copies it first.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

BUILT = ".built"  # written last: a folder without it was not finished (its build failed) and is built again


def worker() -> str | None:
    """This process's pytest-xdist worker name (``gw0``, ``gw1``, ...), or None when not run by xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``name`` after ``build(folder)`` ran in it once for this test run (see the module's docstring)."""
    if worker() is None:
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    shared = tmp_path_factory.getbasetemp().parent  # this run's folder, above every worker's own
    folder = shared / name
    with FileLock(str(shared / f"{name}.lock")):
        if not (folder / BUILT).exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / BUILT).touch()
    return folder
