"""Size of the theme explorer and the time it takes to open, at 10,000 quotes (target: under 2 s, about 10 MB).

The demo corpus is imported and analysed once in a temporary data dir; its
explorer data is then resampled to ``--points`` points (each a copy of a demo
point, moved a little on the map, with its own id), rendered with
``render_explorer`` and opened in Debian's headless chromium through
chromium-driver, ``--runs`` times in a fresh browser each. "Open" is the time
from the request until the page's map is drawn and it answers clicks
(``window.explorerReady``), as the browser's clock measures it from
navigation start. Each run then times three redraws a reader causes (colour by
driver, one country, show everything), printed beside the open time.

    .venv/bin/python bench/bench_explorer.py [--points 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.analyse import Analysis  # noqa: E402
from analysis.evidence import EvidenceBase  # noqa: E402
from analysis.reports.explorer import explorer_data, render_explorer  # noqa: E402
from analysis.ingest import DEMO_FILE, DEMO_ORGANISATIONS, DEMO_SPEC, run_import  # noqa: E402
from corpus.db import make_engine, upgrade  # noqa: E402
from corpus.settings import Settings  # noqa: E402
from tests.support.browser import headless_chromium  # noqa: E402


def demo_data(folder: Path) -> dict:
    """The explorer data of the analysed demo corpus."""
    settings = Settings(data_dir=folder, pseudonym_key="bench-key-0123456789abcdef0123456789", _env_file=None)
    upgrade(make_engine(settings.resolved_database_url))
    evidence = EvidenceBase(settings)
    for code, name in DEMO_ORGANISATIONS.items():
        evidence.store.add_organisation(code, name)
    run_import(evidence, DEMO_FILE, DEMO_SPEC)
    Analysis(evidence, random_state=0).run()
    return explorer_data(evidence)[0]


def resampled(data: dict, points: int, seed: int = 0) -> dict:
    """``data`` with ``points`` points drawn from its own (moved up to 0.02 on the map, fresh ids)."""
    rng = random.Random(seed)
    source = data["points"]
    picks = [rng.randrange(len(source["x"])) for _ in range(points)]
    columns = {name: [source[name][i] for i in picks] for name in source}
    columns["x"] = [round(max(-1.0, min(1.0, x + rng.uniform(-0.02, 0.02))), 4) for x in columns["x"]]
    columns["y"] = [round(max(-1.0, min(1.0, y + rng.uniform(-0.02, 0.02))), 4) for y in columns["y"]]
    columns["id"] = [f"{rng.getrandbits(32):08x}" for _ in range(points)]
    return {**data, "points": columns}


def open_seconds(path: Path) -> float:
    """Seconds from navigation start until the explorer is drawn, in a fresh headless chromium (and, printed,
    when the page's own code started, had read the data, had built the controls)."""
    from selenium.webdriver.support.ui import WebDriverWait

    with headless_chromium() as driver:
        driver.get(path.as_uri())
        WebDriverWait(driver, 120).until(lambda d: d.execute_script("return window.explorerReady === true"))
        marks = driver.execute_script("return window.explorerTimings")  # ms since navigation start
        redraws = {name: redraw_ms(driver, script) for name, script in REDRAWS.items()}
        print("  " + ", ".join(f"{name} {ms / 1000:.2f} s" for name, ms in marks.items())
              + "; redraw " + ", ".join(f"{name} {ms:.0f} ms" for name, ms in redraws.items()), flush=True)
        return marks["drawn"] / 1000


# what a reader does once it is open, each redrawing the map (timed until the next frame after plotly's redraw)
REDRAWS = {
    "colour by driver": "const s = document.getElementById('colour'); s.value = 'driver'; s.dispatchEvent(new Event('change'));",
    "one country": "const s = document.getElementById('f-country'); s.selectedIndex = 1; s.dispatchEvent(new Event('change'));",
    "show everything": "document.getElementById('reset').click();",
}


def redraw_ms(driver, script: str) -> float:
    """Milliseconds from running ``script`` until the map is drawn again."""
    return driver.execute_async_script(
        "const done = arguments[0], map = document.getElementById('map'), started = performance.now();"
        "map.once('plotly_afterplot', () => requestAnimationFrame(() => done(performance.now() - started)));" + script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lnob-bench-explorer-") as folder:
        base = demo_data(Path(folder) / "data")
        data = resampled(base, args.points)
        started = time.perf_counter()
        page = render_explorer(data)
        render = time.perf_counter() - started
        path = Path(folder) / "explorer.html"
        path.write_text(page, encoding="utf-8")
        size = path.stat().st_size
        print(f"{args.points} points: file {size / 1e6:.2f} MB, rendered in {render:.2f} s", flush=True)
        times = []
        for run in range(1, args.runs + 1):
            load = os.getloadavg()[0]
            seconds = open_seconds(path)
            times.append(seconds)
            print(f"run {run}: open {seconds:.2f} s (load average {load:.2f})", flush=True)
    print(f"open: median {statistics.median(times):.2f} s, range {min(times):.2f}-{max(times):.2f} s over {len(times)} "
          f"runs; file {size / 1e6:.2f} MB (targets: under 2 s, about 10 MB)")


if __name__ == "__main__":
    main()
