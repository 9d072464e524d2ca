"""Language identification on the labelled disaster-response messages: accuracy and throughput.

The messages whose original is not English are chosen exactly as
``../shared/tools/mixed-language-set`` chooses them (original at least 15
characters, different from the English message, under 12% common English
function words; ``tests/support/disaster_response.py``, shared with
``tests/test_language.py``). Each such message is detected twice, with no hint:

- its ``message`` column (the English translation) should come out ``en``;
- its ``original`` column (mostly Haitian Creole, some French and
  Latin-script Urdu) should come out as anything but ``en``.

Floor: at least 0.95 of the messages get both right. Also printed: how the
originals split between Creole, French and the rest; the same with a wrong
hint (a French interface over Creole text, a Creole interface over English
text) to show how much a declared language can move; and throughput in texts
per second through ``LanguageDetector.detect`` (preparation included, the
model already loaded). Each figure is given for the default candidate set
(``PARTNERSHIP_LANGUAGES``) and for every language the model knows.

    .venv/bin/python bench/bench_language.py [--data ../shared/data/disaster-response/validation.csv] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.language import PARTNERSHIP_LANGUAGES, LanguageDetector  # noqa: E402
from tests.support.disaster_response import VALIDATION_CSV, MixedMessage, mixed_language_messages  # noqa: E402

FLOOR = 0.95


@dataclass(frozen=True)
class LanguageFigures:
    """What one detector got right on the mixed-language messages, and how fast."""

    candidates: str
    messages: int
    message_en: float
    original_not_en: float
    both_right: float
    originals_by_language: dict[str, int]
    original_ht_with_fr_hint: float
    message_en_with_ht_hint: float
    texts_per_second: float


def share(flags: Sequence[bool]) -> float:
    """The share of true values."""
    return sum(flags) / len(flags) if flags else 0.0


def originals_split(codes: Sequence[str | None], top: int = 8) -> dict[str, int]:
    """Counts of the detected languages of the originals: the ``top`` most frequent, the rest as 'other'."""
    counts = Counter(code or "none" for code in codes)
    kept = dict(counts.most_common(top))
    rest = sum(counts.values()) - sum(kept.values())
    return {**kept, "other": rest} if rest else kept


def texts_per_second(detector: LanguageDetector, texts: Sequence[str], min_seconds: float = 1.0) -> float:
    """How many texts ``detector.detect`` handles per second, over whole passes lasting at least ``min_seconds``."""
    detector.detect(texts[0])  # the model loads outside the clock
    done, start = 0, time.perf_counter()
    while True:
        for text in texts:
            detector.detect(text)
        done += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed


def measure(messages: Sequence[MixedMessage], detector: LanguageDetector, candidates: str) -> LanguageFigures:
    """The accuracy figures and throughput of ``detector`` on ``messages``."""
    english = [detector.detect(m.message).code == "en" for m in messages]
    originals = [detector.detect(m.original).code for m in messages]
    foreign = [code != "en" for code in originals]
    return LanguageFigures(
        candidates=candidates,
        messages=len(messages),
        message_en=share(english),
        original_not_en=share(foreign),
        both_right=share([e and f for e, f in zip(english, foreign)]),
        originals_by_language=originals_split(originals),
        original_ht_with_fr_hint=share([detector.detect(m.original, hint="fr").code == "ht" for m in messages]),
        message_en_with_ht_hint=share([detector.detect(m.message, hint="ht").code == "en" for m in messages]),
        texts_per_second=texts_per_second(detector, [t for m in messages for t in (m.message, m.original)]),
    )


def report(figures: LanguageFigures) -> str:
    """``figures`` as a few readable lines."""
    split = ", ".join(f"{code} {n}" for code, n in figures.originals_by_language.items())
    verdict = "meets" if figures.both_right >= FLOOR else "BELOW"
    return "\n".join([
        f"candidates: {figures.candidates} ({figures.messages} messages with a non-English original)",
        f"  message detected en:          {figures.message_en:.4f}",
        f"  original detected not en:     {figures.original_not_en:.4f}",
        f"  both right:                   {figures.both_right:.4f} ({verdict} the {FLOOR} floor)",
        f"  originals by language:        {split}",
        f"  original ht under a fr hint:  {figures.original_ht_with_fr_hint:.4f}",
        f"  message en under an ht hint:  {figures.message_en_with_ht_hint:.4f}",
        f"  throughput:                   {figures.texts_per_second:,.0f} texts/s",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=VALIDATION_CSV, help="the labelled validation CSV")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"labelled data not found at {args.data}: this benchmark needs ../shared/data")
    messages = mixed_language_messages(args.data)
    results = [
        measure(messages, LanguageDetector(PARTNERSHIP_LANGUAGES), f"partnership ({len(PARTNERSHIP_LANGUAGES)})"),
        measure(messages, LanguageDetector(None), "all the model knows"),
    ]
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        print("\n".join(report(r) for r in results))


if __name__ == "__main__":
    main()
