"""The export registry: every file of quotes or report written to disk, and whose words it holds.

An export is a copy of contributors' (redacted) words outside the tables, so
erasure must reach it. Each file written under the exports dir is recorded
here with the ids of every testimony whose text it contains; when a
contributor erases their data, ``ExportRegistry.remove_containing`` deletes
the files that quoted them and marks their rows ``removed`` (the analysis
side then regenerates reports without them).

The shortest working example::

    registry = ExportRegistry(engine, settings.exports_dir)
    row = registry.record(path, kind="theme-quotes", format="csv", testimony_ids=ids)
    registry.remove_containing([erased_id])   # -> [path]
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import JSON, Column
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from corpus.db import session_scope
from corpus.errors import NotFound
from corpus.files import make_private
from corpus.models import utcnow

log = logging.getLogger(__name__)

PRESENT = "present"
REMOVED = "removed"


class ExportFile(SQLModel, table=True):
    """One file written for staff: quotes of a theme or a search, or a report.

    ``path`` and ``files`` are relative to the data dir; ``files`` are the
    companions written next to it (the charts of a Markdown or HTML report).
    ``testimony_ids`` lists every testimony whose text the file contains.
    """

    __tablename__ = "export_file"

    id: int | None = Field(default=None, primary_key=True)
    path: str = Field(max_length=500, index=True)
    kind: str = Field(max_length=32, index=True)
    format: str = Field(max_length=8)
    title: str = Field(default="", max_length=300)
    params: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    testimony_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    files: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = Field(default="cli", max_length=64)
    status: str = Field(default=PRESENT, max_length=16, index=True)
    removed_at: datetime | None = None
    replaced_by: int | None = None


class ExportRegistry:
    """Records the exports written under ``exports_dir`` and removes those holding erased testimonies.

    Paths are stored relative to ``data_dir`` (default: the parent of
    ``exports_dir``), so a data dir can be moved with its exports.
    """

    def __init__(self, engine: Engine, exports_dir: Path, data_dir: Path | None = None) -> None:
        self.engine = engine
        self.exports_dir = Path(exports_dir).resolve()
        self.data_dir = Path(data_dir).resolve() if data_dir is not None else self.exports_dir.parent

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- paths ----------------------------------------------------------------------

    def relative(self, path: Path) -> str:
        """``path`` relative to the data dir; a path outside the exports dir is refused."""
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(self.exports_dir):
            raise ValueError(f"{resolved} is not under the exports dir {self.exports_dir}")
        return resolved.relative_to(self.data_dir).as_posix()

    def absolute(self, export: ExportFile) -> Path:
        """Where the export's main file lies on disk."""
        return self.data_dir / export.path

    def all_paths(self, export: ExportFile) -> list[Path]:
        """The main file and its companions."""
        return [self.data_dir / p for p in [export.path, *(export.files or [])]]

    # -- writing --------------------------------------------------------------------

    def record(
        self,
        path: Path,
        *,
        kind: str,
        format: str,
        testimony_ids: Iterable[str],
        params: dict | None = None,
        title: str = "",
        created_by: str = "cli",
        files: Sequence[Path] = (),
    ) -> ExportFile:
        """Register a file just written (and its companion ``files``) with the testimonies it quotes.

        The files are made private (0600) here, the one place every export passes through.
        """
        export = ExportFile(
            path=self.relative(path),
            kind=kind,
            format=format,
            title=title[:300],
            params=dict(params or {}),
            testimony_ids=list(dict.fromkeys(testimony_ids)),
            files=[self.relative(f) for f in files],
            created_by=(created_by or "cli")[:64],
        )  # the paths are checked (under the exports dir) before anything is touched
        for written in (path, *files):
            make_private(written)
        with session_scope(self.engine) as session:
            session.add(export)
            session.flush()
            session.refresh(export)
            return export

    def mark_replaced(self, export_id: int, replacement_id: int) -> None:
        """Note that ``export_id`` was regenerated as ``replacement_id``."""
        with session_scope(self.engine) as session:
            export = session.get(ExportFile, export_id)
            if export is not None:
                export.replaced_by = replacement_id
                session.add(export)

    def rename(self, export_id: int, title: str, path: str, files: Sequence[str] = ()) -> None:
        """Give an export a new title and file names (relative to the data dir, as stored).

        Used when an erasure changed a theme label an export was named by: a
        file still on disk is moved to its new name; a removed one only has its
        record renamed, so that no trace of the old name stays.
        """
        with session_scope(self.engine) as session:
            export = session.get(ExportFile, export_id)
            if export is None:
                raise NotFound(f"no export {export_id}")
            moves = list(zip([export.path, *(export.files or [])], [path, *files]))
            for old, new in moves:
                source, target = self.data_dir / old, self.data_dir / new
                if export.status == PRESENT and old != new and source.exists():
                    self.relative(target)  # refuses a name outside the exports dir
                    source.replace(target)
            export.title = title[:300]
            export.path = path
            export.files = list(files)
            session.add(export)

    # -- reading --------------------------------------------------------------------

    def list(self, status: str | None = PRESENT, kind: str | None = None) -> list[ExportFile]:
        """Exports, newest first: present ones by default, ``status=None`` for all."""
        statement = select(ExportFile).order_by(ExportFile.created_at.desc(), ExportFile.id.desc())
        if status is not None:
            statement = statement.where(ExportFile.status == status)
        if kind is not None:
            statement = statement.where(ExportFile.kind == kind)
        with self.session() as session:
            return list(session.exec(statement))

    def get(self, export_id: int) -> ExportFile:
        """One export by id, or ``NotFound``."""
        with self.session() as session:
            export = session.get(ExportFile, export_id)
        if export is None:
            raise NotFound(f"no export {export_id}: list them with `lnob exports list`")
        return export

    def containing(self, testimony_ids: Iterable[str]) -> list[ExportFile]:
        """Present exports that hold the text of any of ``testimony_ids``, oldest first."""
        wanted = set(testimony_ids)
        if not wanted:
            return []
        # The id lists are JSON (portable across SQLite and PostgreSQL); exports are few, so scan them.
        return [e for e in reversed(self.list()) if wanted.intersection(e.testimony_ids or ())]

    # -- removal --------------------------------------------------------------------

    def remove(self, export_id: int, *, forget: Iterable[str] = ()) -> list[Path]:
        """Delete one export's files and mark it removed; ids in ``forget`` leave its id list.

        Returns the paths deleted from disk (files already gone are skipped).
        """
        forget = set(forget)
        with session_scope(self.engine) as session:
            export = session.get(ExportFile, export_id)
            if export is None:
                raise NotFound(f"no export {export_id}")
            removed = []
            for path in self.all_paths(export):
                try:
                    path.unlink()
                    removed.append(path)
                except FileNotFoundError:
                    log.warning("export file %s was already gone", path)
            export.status = REMOVED
            export.removed_at = utcnow()
            # an erased testimony leaves no trace, not even its id in the record of a removed file
            export.testimony_ids = [t for t in export.testimony_ids or [] if t not in forget]
            session.add(export)
        return removed

    def remove_containing(self, testimony_ids: Iterable[str]) -> list[Path]:
        """Delete every present export holding any of ``testimony_ids`` (called on erasure).

        Returns the paths deleted from disk.
        """
        ids = set(testimony_ids)
        removed: list[Path] = []
        for export in self.containing(ids):
            removed += self.remove(export.id, forget=ids)
        return removed
