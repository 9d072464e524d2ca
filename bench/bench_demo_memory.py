"""Peak memory (RSS) and wall time of ``lnob demo`` in a fresh temporary data dir.

``lnob demo`` runs as a subprocess; its peak resident set size is what the
kernel reports for waited-for children (``getrusage(RUSAGE_CHILDREN)``), and a
psutil poll every 50 ms gives the same figure as a cross-check (and the peak
of any child processes it starts). A second run in the same dir shows the
idempotent path (nothing new to import).

    .venv/bin/python bench/bench_demo_memory.py [--runs 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

LNOB = Path(sys.executable).parent / "lnob"


def poll_peak(process: psutil.Process, stop: threading.Event, peak: list[int]) -> None:
    """Keep the highest summed RSS of ``process`` and its children in ``peak[0]``."""
    while not stop.is_set():
        try:
            total = process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))
            peak[0] = max(peak[0], total)
        except psutil.Error:
            pass
        stop.wait(0.05)


def run_demo(data_dir: Path) -> tuple[float, float, float, str]:
    """Seconds, peak RSS in MB (rusage, psutil) and the last line printed, for one ``lnob demo``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LNOB_")}
    started = time.perf_counter()
    child = subprocess.Popen([str(LNOB), "demo", "--data-dir", str(data_dir)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    stop, peak = threading.Event(), [0]
    watcher = threading.Thread(target=poll_peak, args=(psutil.Process(child.pid), stop, peak), daemon=True)
    watcher.start()
    stdout, stderr = child.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    watcher.join()
    if child.returncode != 0:
        raise SystemExit(f"lnob demo failed ({child.returncode}): {stderr[-2000:]}")
    rusage_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    return seconds, rusage_mb, peak[0] / 2**20, stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs in the same data dir (the first is fresh)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lnob-bench-demo-") as tmp:
        data_dir = Path(tmp) / "demo-data"
        for run in range(1, args.runs + 1):
            seconds, rusage_mb, polled_mb, last = run_demo(data_dir)
            kind = "fresh data dir" if run == 1 else "same data dir again"
            print(f"run {run} ({kind}): {seconds:6.1f} s, peak RSS {rusage_mb:7.1f} MB (rusage), "
                  f"{polled_mb:7.1f} MB (psutil poll); demo says: {last}")
    print("note: rusage's figure is the highest of all runs so far (it is per process tree, not per run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
