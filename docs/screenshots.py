"""Regenerate the README's screenshots: a report, the theme explorer and the command line, on the demo corpus.

    .venv/bin/python docs/screenshots.py                      # runs `lnob demo` in a temporary folder first
    .venv/bin/python docs/screenshots.py --data-dir demo-data # an analysed data dir you already have

Each picture is what a user gets from the commands the README shows
(``lnob report``, ``lnob explore``, ``lnob themes``, ``lnob search``), opened
in Debian's headless chromium (``apt-get install chromium chromium-driver``)
and saved as PNG under ``docs/images/``.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.browser import headless_chromium  # noqa: E402

LNOB = Path(sys.executable).parent / "lnob"
IMAGES = ROOT / "docs" / "images"
CLI_COMMANDS = (["themes"], ["search", "no clinic nearby", "--limit", "5"])
TERMINAL = """<!doctype html><meta charset="utf-8"><style>
body {{ margin: 0; background: #1e1e1e; }}
pre {{ margin: 0; padding: 16px 20px; color: #e6e6e6; font: 14px/1.4 "DejaVu Sans Mono", monospace; white-space: pre; }}
.prompt {{ color: #8ae234; }}
</style><pre>{}</pre>"""


def lnob(data_dir: Path, *args: str) -> str:
    """The standard output of one ``lnob`` command on ``data_dir`` (it fails loudly)."""
    env = {**os.environ, "LNOB_DATA_DIR": str(data_dir), "LNOB_PROGRESS": "never", "COLUMNS": "110"}
    done = subprocess.run([str(LNOB), *args], env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"lnob {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout


def demo(folder: Path) -> Path:
    """A fresh analysed demo corpus in ``folder`` (``lnob demo``, a minute or two)."""
    data_dir = folder / "demo-data"
    env = {**os.environ, "LNOB_PROGRESS": "never"}
    subprocess.run([str(LNOB), "demo", "--data-dir", str(data_dir)], env=env, check=True, capture_output=True,
                   timeout=1800)
    return data_dir


def shoot(driver, url: str, target: Path, ready: str | None = None, height: int | None = None) -> None:
    """Open ``url``, wait for the script ``ready`` to be true (if given), and save the window to ``target``."""
    driver.get(url)
    deadline = time.monotonic() + 120
    while ready and not driver.execute_script(f"return {ready}"):
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not get ready within 120 s")
        time.sleep(0.2)
    if height:
        driver.set_window_size(driver.get_window_size()["width"], height)
    time.sleep(0.5)  # fonts and the last paint
    driver.save_screenshot(str(target))
    print(target.relative_to(ROOT))


def terminal_page(data_dir: Path, folder: Path) -> Path:
    """An HTML page showing ``CLI_COMMANDS`` and what they print, as in a terminal."""
    lines = []
    for command in CLI_COMMANDS:
        shown = " ".join(f'"{part}"' if " " in part else part for part in command)
        lines.append(f'<span class="prompt">$</span> lnob {html.escape(shown)}')
        lines.append(html.escape(lnob(data_dir, *command).rstrip()))
        lines.append("")
    page = folder / "terminal.html"
    page.write_text(TERMINAL.format("\n".join(lines)), encoding="utf-8")
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="An analysed data dir (default: a fresh `lnob demo`).")
    args = parser.parse_args()
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lnob-screenshots-") as temporary:
        folder = Path(temporary)
        data_dir = args.data_dir.resolve() if args.data_dir else demo(folder)
        report = Path(json.loads(lnob(data_dir, "report", "--global", "--format", "html", "--json"))["path"])
        explorer = Path(json.loads(lnob(data_dir, "explore", "--json"))["path"])
        with headless_chromium(width=1100, height=1400) as driver:
            shoot(driver, report.as_uri(), IMAGES / "report.png")
        with headless_chromium(width=1400, height=900) as driver:
            shoot(driver, explorer.as_uri(), IMAGES / "explorer.png", ready="window.explorerReady === true")
        with headless_chromium(width=1100, height=900) as driver:
            shoot(driver, terminal_page(data_dir, folder).as_uri(), IMAGES / "cli.png")


if __name__ == "__main__":
    main()
