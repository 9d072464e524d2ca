"""Files that hold people's words or the deployment's secret, kept private to the account that runs lnob.

The data dir holds the original, unredacted texts (the SQLite file), the
pseudonym key, exports of quotes and the vector index. So:

- folders lnob creates are 0700 and files it writes itself (the SQLite file,
  which SQLite's ``-wal``, ``-shm`` and journal files copy, the pseudonym key,
  each export) are 0600, whatever the umask;
- files other libraries write (Chroma's index) follow the process umask: the
  CLI and the bot set it to 077 at start (``use_private_umask``), so those are
  0600 as well. A Python program that embeds lnob keeps its own umask (a
  library must not change it); the 0700 data dir still keeps others out;
- ``open_to_others`` lists whatever is not private (``lnob doctor`` warns).

An existing file or folder is never re-permissioned behind its owner's back:
``doctor`` names it and the owner decides (``chmod -R go= DATA_DIR``).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077  # no permission at all for group and others


def use_private_umask() -> int:
    """From now on, everything this process creates is private to its owner; returns the previous umask.

    Called at the start of the ``lnob`` CLI and of the bot, before any library
    writes: it is how Chroma's index files, which lnob does not write itself,
    come out 0600. The previous umask is only tightened, never loosened.
    """
    previous = os.umask(PRIVATE_UMASK)
    os.umask(previous | PRIVATE_UMASK)
    return previous


def private_dir(path: Path) -> Path:
    """Create the folder ``path`` and any missing parents 0700; an existing folder is left as it is."""
    path = Path(path)
    missing = []
    folder = path
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # another process made it first; it makes it private too
            continue
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is masked by the umask
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty and 0600 (its folder 0700) unless it exists; an existing file is left as it is."""
    path = Path(path)
    private_dir(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return path
    try:
        os.fchmod(descriptor, PRIVATE_FILE)  # os.open's mode is masked by the umask
    finally:
        os.close(descriptor)
    return path


def make_private(path: Path) -> None:
    """Restrict a file lnob has just written (an export) to its owner: 0600."""
    os.chmod(path, PRIVATE_FILE)


def write_once(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` (0600) unless a file is there already; whether this call wrote it.

    Atomic under concurrency: the bytes go to a temporary file in the same
    folder, are flushed to disk, and the temporary file is then hard-linked to
    ``path``, which fails when ``path`` exists instead of replacing it. So
    of two processes racing, exactly one writes, and the other (and every
    reader) only ever sees the whole content, never an empty or partial file.
    """
    path = Path(path)
    private_dir(path.parent)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # 0600
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        _fsync_folder(path.parent)
        return True
    finally:
        os.unlink(temporary)


def replace_whole(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all: into a temporary file (0600) in the same folder,
    then renamed over ``path``, so a reader sees the old content or the new, never part of it. Raises
    ``OSError`` with the temporary file removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _fsync_folder(folder: Path) -> None:
    """Make a new directory entry durable (a power cut must not lose a key that was already used)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def open_to_others(roots: Iterable[Path]) -> list[Path]:
    """Every file or folder at or under ``roots`` that group or others may read, write or enter.

    Symbolic links are not followed (their own mode means nothing); roots that
    do not exist are skipped.
    """
    found: list[Path] = []
    for root in roots:
        root = Path(root)
        if not os.path.lexists(root):
            continue
        for path in _walk(root):
            try:
                mode = path.lstat().st_mode
            except FileNotFoundError:  # removed while we looked
                continue
            if not stat.S_ISLNK(mode) and mode & PRIVATE_UMASK:
                found.append(path)
    return found


def _walk(root: Path) -> Iterable[Path]:
    yield root
    if root.is_dir() and not root.is_symlink():
        for folder, folders, files in os.walk(root):
            for name in sorted(folders) + sorted(files):
                yield Path(folder) / name
