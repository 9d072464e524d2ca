"""``lnob search`` as people run it: one command, one search, in a fresh process, on the demo and at 100,000.

Each measured search is the real command in a subprocess (``lnob --data-dir DIR
search QUERY ...``), timed from start to exit, with its peak resident memory
(``wait4``'s ``ru_maxrss``). Several queries (English, French, a country filter,
words only) are run ``--runs`` times each; the figures are the median and the
range of all of them, with the load average before each run, since this
machine's two cores are shared.

Before the timed runs, one search is made with no saved lexical data (as
after ``lnob db upgrade`` to this version: it tokenises every text and saves
the tokens and the BM25 index), and one with the tokens saved but not the
index (as after any change to the corpus: the index is built again from the
saved tokens, and saved); the timed runs then find the index saved, as every
search does while the corpus is unchanged.

The corpora are built once and reused:

- the demo corpus (346 texts in en, es, fr, sw): ``lnob demo --data-dir DIR``;
- 100,000 contributions: ``bench/bench_staff.py``'s corpus (real texts resampled,
  real embeddings plus noise, 40 themes), built by its ``build`` when ``--large-dir``
  holds none (about 10 minutes), and migrated to the current schema.

Targets (issue 12): median wall time at most 2 s on the demo, at most 5 s at 100,000.

    .venv/bin/python bench/bench_cli_search.py [--demo-dir DIR] [--large-dir DIR] [--runs 3] [--skip-large]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

LNOB = Path(sys.executable).parent / "lnob"
DEMO_KEY = "bench-key-0123456789abcdef0123456789"
LARGE_COLLECTION = "staff100k"  # bench_staff.py's
QUERIES = (
    ("no clinic nearby",),
    ("bribe for a birth certificate", "--country", "KE"),
    ("l'eau du puits est sale",),
    ("lost our crops in the flood", "--mode", "lexical"),
    ("school fees are too high for girls", "--json"),
)
TARGETS = {"demo": 2.0, "100k": 5.0}
BYTECODE = {"kept_off": False}  # --no-bytecode-cache: as the caller's PYTHONDONTWRITEBYTECODE says


@dataclass
class Run:
    """One ``lnob search``: wall time, CPU time and peak memory of the process."""

    seconds: float
    cpu_seconds: float
    peak_mb: float


def machine_speed() -> float:
    """Seconds a fixed pure-Python loop takes here now: on a shared machine, figures from runs whose loop took
    longer were made on a slower (busier) machine."""
    started = time.perf_counter()
    sum(i * i for i in range(5_000_000))
    return time.perf_counter() - started


def environment(collection: str | None = None) -> dict[str, str]:
    """The caller's environment without its LNOB_* settings, with the benchmark's key (and collection).

    ``PYTHONDONTWRITEBYTECODE`` is dropped (unless ``BYTECODE`` says to keep it) so that Python caches the
    project's compiled modules as it does for an installed package; with it, every run compiles them again
    (about 0.15 s).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("LNOB_")}
    if not BYTECODE["kept_off"]:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["LNOB_PSEUDONYM_KEY"] = DEMO_KEY
    if collection:
        env["LNOB_CHROMA_COLLECTION"] = collection
    return env


def lnob(data_dir: Path, args: tuple[str, ...], env: dict[str, str]) -> Run:
    """Run ``lnob --data-dir DATA_DIR ARGS`` to its end; its time and peak memory (output discarded)."""
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen([str(LNOB), "--data-dir", str(data_dir), *args], stdout=output,
                                   stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            output.seek(0)
            raise SystemExit(f"lnob {' '.join(args)} failed:\n{output.read().decode(errors='replace')}")
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def demo_corpus(folder: Path, env: dict[str, str]) -> Path:
    """The demo corpus in ``folder`` (made by ``lnob demo`` unless there)."""
    if not (folder / "lnob.sqlite3").exists():
        print(f"building the demo corpus in {folder} (about 2 minutes)", flush=True)
        subprocess.run([str(LNOB), "demo", "--data-dir", str(folder)], env=env, check=True, capture_output=True)
    return folder


def large_corpus(folder: Path) -> Path:
    """bench_staff.py's 100,000 contributions in ``folder`` (built unless there), migrated to the current schema."""
    import numpy as np

    import bench_staff
    from corpus.db import make_engine, upgrade
    from corpus.settings import Settings

    settings = Settings(data_dir=folder, chroma_collection=LARGE_COLLECTION, pseudonym_key=DEMO_KEY, _env_file=None)
    bench_staff.build(settings, np.random.default_rng(20260501))  # skipped when built
    upgrade(make_engine(settings.resolved_database_url))
    return folder


def forget_saved_lexicon(data_dir: Path, collection: str | None, *, tokens: bool = True) -> None:
    """Delete the saved BM25 index and (``tokens``) the saved tokens: as if no search had run since the corpus
    was made, or (only the index) as after any change to the corpus."""
    from corpus.settings import Settings
    from corpus.stores import CorpusStores

    settings = Settings(data_dir=data_dir, pseudonym_key=DEMO_KEY, _env_file=None,
                        **({"chroma_collection": collection} if collection else {}))
    stores = CorpusStores(settings)
    stores.lexicon.clear(tokens=tokens)
    stores.engine.dispose()


def measure(name: str, data_dir: Path, runs: int, collection: str | None = None) -> list[str]:
    """Time the queries on one corpus; returns the lines of its report."""
    env = environment(collection)
    forget_saved_lexicon(data_dir, collection)
    first = lnob(data_dir, ("search", *QUERIES[0]), env)
    forget_saved_lexicon(data_dir, collection, tokens=False)
    changed = lnob(data_dir, ("search", *QUERIES[0]), env)
    print(f"{name}: first search with nothing saved {first.seconds:.1f} s (CPU {first.cpu_seconds:.1f} s, "
          f"{first.peak_mb:.0f} MB); after a change to the corpus (index rebuilt from the saved tokens) "
          f"{changed.seconds:.1f} s (CPU {changed.cpu_seconds:.1f} s, {changed.peak_mb:.0f} MB)", flush=True)
    timed: list[Run] = []
    loads: list[str] = []
    for run in range(runs):
        loads.append(" ".join(f"{v:.2f}" for v in os.getloadavg()) + f" (reference loop {machine_speed():.2f} s)")
        for query in QUERIES:
            result = lnob(data_dir, ("search", *query), env)
            timed.append(result)
            print(f"  run {run + 1} {result.seconds:5.2f} s  CPU {result.cpu_seconds:5.2f} s  "
                  f"{result.peak_mb:5.0f} MB  {' '.join(query)}", flush=True)
    seconds = [r.seconds for r in timed]
    cpu = [r.cpu_seconds for r in timed]
    peaks = [r.peak_mb for r in timed]
    median = statistics.median(seconds)
    verdict = "ok" if median <= TARGETS[name] else "over"
    line = (f"| {name} | {median:.2f} s ({min(seconds):.2f}-{max(seconds):.2f}) | {statistics.median(cpu):.2f} s | "
            f"{statistics.median(peaks):.0f} MB ({min(peaks):.0f}-{max(peaks):.0f}) | {changed.seconds:.1f} s | "
            f"{first.seconds:.1f} s | {TARGETS[name]:.0f} s: {verdict} |")
    print(line)
    print(f"  load average (1, 5, 15 min) before each run: {'; '.join(loads)}", flush=True)
    return [line, f"load before each run on {name}: {'; '.join(loads)}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-dir", type=Path, default=Path("/tmp/lnob-bench-cli-demo"))
    parser.add_argument("--large-dir", type=Path, default=Path("/tmp/lnob-bench-staff"))
    parser.add_argument("--runs", type=int, default=3, help="runs of every query (at least 3 for a range)")
    parser.add_argument("--skip-large", action="store_true", help="the demo only")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="keep PYTHONDONTWRITEBYTECODE from the environment (modules compiled at every run)")
    args = parser.parse_args()
    BYTECODE["kept_off"] = args.no_bytecode_cache

    print(f"{len(QUERIES)} queries x {args.runs} runs per corpus, {os.cpu_count()} CPU cores; "
          f"load average now {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    lines = ["| corpus | wall time, median (range) | CPU, median | peak memory, median (range) | "
             "first search after a change | first search, nothing saved | target |", "|---|---|---|---|---|---|---|"]
    notes = measure("demo", demo_corpus(args.demo_dir, environment()), args.runs)
    lines.append(notes[0])
    loads = [notes[1]]
    if not args.skip_large:
        notes = measure("100k", large_corpus(args.large_dir), args.runs, LARGE_COLLECTION)
        lines.append(notes[0])
        loads.append(notes[1])
    print("\n" + "\n".join(lines + [""] + loads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
