"""Regenerate the README's screenshots: a report, the theme explorer and the CLI, from the demo corpus.

The demo corpus is imported and analysed in a temporary data dir by the real
``lnob`` (the same commands the README shows); the HTML report and the
explorer are opened in Debian's headless chromium, and the CLI's output is
shown as a terminal page, each saved as a PNG under ``docs/img``.

    .venv/bin/python bench/screenshots.py
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LNOB = Path(sys.executable).parent / "lnob"
OUT = ROOT / "docs" / "img"
KEY = "screenshots-key-0123456789abcdef0123"


def lnob(data_dir: Path, *args: str) -> str:
    """Run ``lnob --data-dir DIR ARGS`` and return its standard output."""
    env = {**os.environ, "LNOB_PSEUDONYM_KEY": KEY, "COLUMNS": "110"}
    done = subprocess.run([str(LNOB), "--data-dir", str(data_dir), *args], capture_output=True, text=True, env=env,
                          check=True)
    return done.stdout


def browser(width: int, height: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                     "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--hide-scrollbars"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def shoot(page: Path, target: Path, width: int = 1400, height: int = 900, ready: str | None = None) -> None:
    """Open ``page`` and save what the window shows as ``target``."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser(width, height)
    try:
        driver.get(page.as_uri())
        if ready:
            WebDriverWait(driver, 60).until(lambda d: d.execute_script(ready))
        driver.save_screenshot(str(target))
    finally:
        driver.quit()
    print(f"wrote {target.relative_to(ROOT)}")


def terminal_page(commands: list[tuple[str, str]], path: Path) -> None:
    """A page that shows each command and its output as a terminal would."""
    body = "".join(f"<div class='prompt'>$ {html.escape(c)}</div><pre>{html.escape(out)}</pre>" for c, out in commands)
    path.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><style>body{background:#1e1e1e;color:#e6e6e6;margin:0;"
        "padding:16px;font:14px/1.35 'DejaVu Sans Mono',monospace}.prompt{color:#8ae234;margin-top:10px}"
        "pre{margin:4px 0 0 0;white-space:pre-wrap}</style></head><body>" + body + "</body></html>",
        encoding="utf-8",
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lnob-screenshots-") as folder:
        data = Path(folder) / "data"
        lnob(data, "demo")
        report = Path(json.loads(lnob(data, "report", "--country", "KE", "--format", "html", "--json"))["path"])
        shoot(report, OUT / "report.png", height=1100)
        explorer = Path(json.loads(lnob(data, "explore", "--json"))["path"])
        shoot(explorer, OUT / "explorer.png", ready="return window.explorerReady === true")
        shown = [("lnob themes | head -14", "\n".join(lnob(data, "themes").splitlines()[:14]) + "\n"),
                 ('lnob search "no birth certificate" --limit 3', lnob(data, "search", "no birth certificate",
                                                                       "--limit", "3")),
                 ("lnob themes --csv | head -4", "\n".join(lnob(data, "themes", "--csv").splitlines()[:4]) + "\n")]
        page = Path(folder) / "cli.html"
        terminal_page(shown, page)
        shoot(page, OUT / "cli.png", width=1100, height=900)


if __name__ == "__main__":
    main()
