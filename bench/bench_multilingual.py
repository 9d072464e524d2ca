"""The multilingual floors of issue 9, measured through the real pipeline (import, detect, embed, analyse, search).

Needs ../shared/data (the labelled disaster-response validation split) and
../shared/tools/mixed-language-set. Each part imports into a temporary data
dir of its own, with the configured (default: bundled multilingual) model:

- ``mixed``: themes on the mixed Creole/English set, seeds 0 1 2: NMI against
  the labels (floor >= 0.42) and against the language column (floor <= 0.15);
- ``english``: themes on the single-label validation messages in English,
  seeds 0 1 2 (floors: min NMI >= 0.57, ARI >= 0.50, coverage >= 0.90);
- ``retrieval``: the 30 English queries in tests/data over the messages with a
  non-English original, in their original and in English (floor: ratio of
  P@10 >= 0.65), and over the whole split in English (floor: P@10 >= 0.67).

    .venv/bin/python bench/bench_multilingual.py [--parts mixed english retrieval]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.evaluation import evaluate_clusters, evaluate_retrieval  # noqa: E402
from corpus.settings import Settings  # noqa: E402
from tests.support.disaster_response import FINE_CATEGORIES, VALIDATION_CSV as VALIDATION, load_labelled_set  # noqa: E402

TOOL = ROOT.parent / "shared" / "tools" / "mixed-language-set"
QUERIES = ROOT / "tests" / "data" / "disaster_queries.csv"


def settings() -> Settings:
    return Settings(_env_file=None, pseudonym_key="bench-key-0123456789abcdef0123456789")


def mixed(folder: Path, seeds: list[int]) -> list[dict]:
    subprocess.run([sys.executable, str(TOOL), str(VALIDATION), str(folder)], check=True, capture_output=True)
    rows = []
    for seed in seeds:
        result = evaluate_clusters(settings(), folder / "mixed_clusters.csv", "text", "label",
                                   language_col="language", random_state=seed)
        rows.append({"seed": seed, "nmi": result["nmi"], "language_nmi": result["language"]["nmi"],
                     "ari": result["ari"], "coverage": result["coverage"], "themes": result["themes"]})
        print("mixed", json.dumps(rows[-1]), flush=True)
    return rows


def english(folder: Path, seeds: list[int]) -> list[dict]:
    path = folder / "single_label.csv"
    data = load_labelled_set(VALIDATION, view="single")
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["text", "label"])
        writer.writerows(zip(data.texts, data.labels.tolist()))
    rows = []
    for seed in seeds:
        result = evaluate_clusters(settings(), path, "text", "label", random_state=seed)
        rows.append({"seed": seed, "nmi": result["nmi"], "ari": result["ari"], "coverage": result["coverage"],
                     "themes": result["themes"]})
        print("english", json.dumps(rows[-1]), flush=True)
    return rows


def retrieval(folder: Path) -> dict:
    subprocess.run([sys.executable, str(TOOL), str(VALIDATION), str(folder)], check=True, capture_output=True)
    originals = folder / "originals.csv"
    out = {}
    for name, path, column in (("originals", originals, "original"), ("same_in_english", originals, "message"),
                               ("whole_split_english", VALIDATION, "message")):
        result = evaluate_retrieval(settings(), path, column, FINE_CATEGORIES, QUERIES)
        out[name] = result["modes"]
        print("retrieval", name, json.dumps(result["modes"]), flush=True)
    ratio = out["originals"]["hybrid"]["precision_at_k"] / out["same_in_english"]["hybrid"]["precision_at_k"]
    out["ratio"] = round(ratio, 3)
    print("retrieval ratio", out["ratio"], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["mixed", "english", "retrieval"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args()
    if not VALIDATION.exists():
        sys.exit(f"needs {VALIDATION}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lnob-bench-ml-") as folder:
        report = {}
        if "mixed" in args.parts:
            report["mixed"] = mixed(Path(folder), args.seeds)
        if "english" in args.parts:
            report["english"] = english(Path(folder), args.seeds)
        if "retrieval" in args.parts:
            report["retrieval"] = retrieval(Path(folder))
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
