"""The plotly.js the theme explorer inlines: plotly's partial "basic" bundle where it is installed, else the
full bundle that ships inside the plotly Python package.

The shortest working example::

    from analysis.reports.plotlyjs import plotly_js

    bundle = plotly_js()          # bundle.name: "basic 4.1.1" or "full"; bundle.script: the JavaScript

Why two bundles: the explorer draws its map with plotly's SVG ``scatter``, which the basic bundle
(scatter, bar, pie: 1.2 MB) holds as well as the full one (every trace type: 4.8 MB). A browser must read
and start all of an inlined bundle before the page can draw anything, and on two cores the full bundle
alone takes about 1.5 s of the 2 s the explorer may take to open at 10,000 quotes (BENCHMARKS.md,
"Theme explorer"). The plotly Python package ships only the full bundle; npm has the basic one as
``plotly.js-basic-dist-min`` (MIT, published by Plotly). ``make install`` fetches it with npm
(``install`` below, through ``main(["install"])``) into ``<venv>/share/lnob/``. It is inlined only when its SHA-256 is the one pinned here, so a changed,
truncated or other version's file is never put in a page; without it the explorer still works, with the
full bundle, only slower to open.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from corpus.files import replace_whole

log = logging.getLogger(__name__)

PACKAGE = "plotly.js-basic-dist-min"
VERSION = "4.1.1"
FILE = "plotly-basic.min.js"
SHA256 = "99784e3abfb07b142a15e521a439e6d9addceadb3f79553fd24c72774f0649ba"
FULL = "full"


@dataclass(frozen=True)
class Bundle:
    """One plotly.js bundle: its name (``"basic 4.1.1"`` or ``"full"``) and its JavaScript."""

    name: str
    script: str

    @property
    def is_full(self) -> bool:
        return self.name == FULL


def installed_path() -> Path:
    """Where ``install`` puts the basic bundle: beside this Python environment's other shared files."""
    return Path(sys.prefix) / "share" / "lnob" / FILE


def plotly_js(path: Path | None = None) -> Bundle:
    """The basic bundle at ``path`` (default ``installed_path()``) when it is there and is the pinned file,
    else plotly's full bundle."""
    path = path or installed_path()
    try:
        content = path.read_bytes()
    except OSError:
        return _full_bundle()
    if hashlib.sha256(content).hexdigest() != SHA256:
        log.warning("%s is not %s %s (its SHA-256 differs from the pinned one): plotly's full bundle is inlined "
                    "instead; `make install` fetches it again", path, PACKAGE, VERSION)
        return _full_bundle()
    return Bundle(f"basic {VERSION}", content.decode("utf-8"))


def install(target: Path | None = None) -> Path:
    """Fetch ``PACKAGE`` at ``VERSION`` with ``npm pack`` (the registry checks the archive's integrity), check
    the bundle against the pinned SHA-256 and write it, with its licence, to ``target`` (default
    ``installed_path()``). Raises ``RuntimeError`` with the reason when it cannot."""
    target = target or installed_path()
    with tempfile.TemporaryDirectory(prefix="lnob-plotlyjs-") as folder:
        try:
            done = subprocess.run(["npm", "pack", "--silent", f"{PACKAGE}@{VERSION}"], cwd=folder,
                                  capture_output=True, text=True, timeout=300)
        except FileNotFoundError:
            raise RuntimeError("npm is not installed") from None
        if done.returncode != 0:
            raise RuntimeError(f"npm pack {PACKAGE}@{VERSION} failed: {done.stderr.strip() or done.stdout.strip()}")
        with tarfile.open(Path(folder) / f"{PACKAGE}-{VERSION}.tgz") as archive:
            content = _member(archive, f"package/{FILE}")
            licence = _member(archive, "package/LICENSE")
    if hashlib.sha256(content).hexdigest() != SHA256:
        raise RuntimeError(f"{PACKAGE}@{VERSION} from npm is not the file pinned in {__name__} (SHA-256 differs)")
    replace_whole(target.with_name(f"{FILE}.LICENSE"), licence)
    replace_whole(target, content)
    return target


def _member(archive: tarfile.TarFile, name: str) -> bytes:
    """The bytes of one regular file in ``archive`` (read in memory: nothing is extracted to disk)."""
    try:
        member = archive.getmember(name)
    except KeyError:
        raise RuntimeError(f"{PACKAGE}@{VERSION} has no {name}") from None
    handle = archive.extractfile(member) if member.isfile() else None
    if handle is None:
        raise RuntimeError(f"{PACKAGE}@{VERSION}: {name} is not a regular file")
    return handle.read()


def _full_bundle() -> Bundle:
    from plotly.offline import get_plotlyjs  # heavy; only the explorer needs it

    return Bundle(FULL, get_plotlyjs())


def main(argv: list[str]) -> int:
    """``main(["install"])``, as ``make install`` calls it: fetch the basic bundle (1 with the reason if not)."""
    if argv != ["install"]:
        print("usage: main(['install'])", file=sys.stderr)
        return 2
    try:
        path = install()
    except RuntimeError as error:
        print(f"the explorer's basic plotly.js bundle was not installed ({error}): the explorer will inline "
              "plotly's full bundle, which opens more slowly", file=sys.stderr)
        return 1
    print(f"installed {PACKAGE} {VERSION} at {path}")
    return 0
