"""The plotly.js the theme explorer inlines: the pinned basic bundle where it is installed, else the full one.

``make install`` fetches the basic bundle from npm; these tests check that it did, and run ``install``
against a fake ``npm`` on PATH (the registry is not reached from the tests).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import stat
import sys
import tarfile
from pathlib import Path

import pytest

from analysis.reports import plotlyjs
from analysis.reports.plotlyjs import FILE, PACKAGE, VERSION, install, installed_path, plotly_js


def test_make_install_put_the_pinned_basic_bundle_in_the_environment():
    bundle = plotly_js()
    assert bundle.name == f"basic {VERSION}" and not bundle.is_full
    assert bundle.script.startswith(f"/**\n* plotly.js (basic - minified) v{VERSION}\n")
    assert hashlib.sha256(installed_path().read_bytes()).hexdigest() == plotlyjs.SHA256
    assert "MIT" in installed_path().with_name(f"{FILE}.LICENSE").read_text(encoding="utf-8")


def test_a_missing_or_changed_bundle_gives_the_full_one(tmp_path, monkeypatch, caplog):
    from plotly.offline import get_plotlyjs

    missing = plotly_js(tmp_path / "nowhere.js")
    assert missing.is_full and missing.script == get_plotlyjs()

    fake = tmp_path / FILE
    fake.write_text("window.Plotly = {};", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger=plotlyjs.__name__):
        changed = plotly_js(fake)
    assert changed.is_full and "SHA-256 differs" in caplog.text

    monkeypatch.setattr(plotlyjs, "SHA256", hashlib.sha256(fake.read_bytes()).hexdigest())
    assert plotly_js(fake) == plotlyjs.Bundle(f"basic {VERSION}", "window.Plotly = {};")


@pytest.fixture
def fake_npm(tmp_path, monkeypatch):
    """A fake ``npm`` first on PATH: ``npm pack NAME@VERSION`` writes the archive the test puts in
    ``archive_of`` (or fails with the exit status and message in ``failure``)."""
    folder = tmp_path / "fake-npm"
    folder.mkdir()
    archive = folder / "archive.tgz"
    failure = folder / "failure"
    script = folder / "npm"
    script.write_text(
        f"#!{sys.executable}\n"
        "import shutil, sys\n"
        f"failure = {str(failure)!r}\n"
        "import os\n"
        "if os.path.exists(failure):\n"
        "    sys.stderr.write(open(failure).read()); sys.exit(1)\n"
        f"assert sys.argv[1:] == ['pack', '--silent', {PACKAGE + '@' + VERSION!r}], sys.argv\n"
        f"shutil.copy({str(archive)!r}, {PACKAGE + '-' + VERSION + '.tgz'!r})\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")

    def archive_of(members: dict[str, bytes]) -> None:
        with tarfile.open(archive, "w:gz") as tar:
            for name, content in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))

    return archive_of, failure


def test_install_writes_the_pinned_bundle_and_its_licence(fake_npm, tmp_path, monkeypatch):
    archive_of, _ = fake_npm
    content = b"/* a bundle */ window.Plotly = {};"
    archive_of({f"package/{FILE}": content, "package/LICENSE": b"The MIT License", "package/README.md": b"x"})
    monkeypatch.setattr(plotlyjs, "SHA256", hashlib.sha256(content).hexdigest())
    target = tmp_path / "share" / "lnob" / FILE
    assert install(target) == target
    assert target.read_bytes() == content
    assert target.with_name(f"{FILE}.LICENSE").read_bytes() == b"The MIT License"
    assert sorted(p.name for p in target.parent.iterdir()) == [FILE, f"{FILE}.LICENSE"]  # nothing else left


def test_install_refuses_another_file_and_keeps_the_one_there(fake_npm, tmp_path):
    archive_of, _ = fake_npm
    archive_of({f"package/{FILE}": b"not the pinned bundle", "package/LICENSE": b"MIT"})
    target = tmp_path / FILE
    target.write_bytes(b"the bundle installed before")
    with pytest.raises(RuntimeError, match="not the file pinned"):
        install(target)
    assert target.read_bytes() == b"the bundle installed before"


def test_install_says_why_when_npm_fails_or_the_archive_lacks_the_bundle(fake_npm, tmp_path):
    archive_of, failure = fake_npm
    archive_of({"package/LICENSE": b"MIT"})
    with pytest.raises(RuntimeError, match=f"{PACKAGE}@{VERSION} has no package/{FILE}"):
        install(tmp_path / FILE)
    failure.write_text("npm error code E404", encoding="utf-8")
    with pytest.raises(RuntimeError, match="npm pack .* failed: npm error code E404"):
        install(tmp_path / FILE)
    assert not (tmp_path / FILE).exists()


def test_install_without_npm_is_a_clear_error_and_the_module_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm here
    monkeypatch.setattr(plotlyjs, "installed_path", lambda: tmp_path / FILE)
    with pytest.raises(RuntimeError, match="npm is not installed"):
        install(tmp_path / FILE)
    assert plotlyjs.main(["install"]) == 1
    assert "npm is not installed" in capsys.readouterr().err and not (tmp_path / FILE).exists()
    assert plotlyjs.main([]) == 2
