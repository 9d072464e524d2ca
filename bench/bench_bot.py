"""Contributor bot under load: simulated people in parallel against the fake Bot API server.

The bot runs as ``lnob bot`` runs it (``bot.run_bot``: long polling, database
persistence, rate limiter, real embedding model and Chroma index) in its own
process, on a fresh data dir; this process runs the fake Bot API server and
the simulated contributors. Each contributor does the whole ``/share`` flow:
``/start``, consent, skip the profile, story, why, one driver ticked, done,
proposal, thank-you (8 messages or presses, 8 replies and 4 edits).

Reported: contributions per second (wall time of all flows), p50 and p95
time from a person's message or press to the bot's reply, and the bot
process's peak resident memory. Targets: >= 20 contributions/s,
p95 <= 500 ms, peak <= 1.5 GB.

    .venv/bin/python bench/bench_bot.py [--contributors 300] [--concurrency 50] [--rate-limit 0]

``--rate-limit`` is the bot's outbound limit (``LNOB_RATE_LIMIT_PER_SECOND``);
0 lifts it to measure the bot itself, 30 is Telegram's documented overall
limit (which caps a bot at about 30 / 13 = 2.3 contributions a second).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from tests.support.fake_bot_api import FakeBotAPI, FakeUser  # noqa: E402

TARGETS = {"contributions_per_s": 20.0, "p95_ms": 500.0, "peak_rss_mb": 1536.0}
BOT = "from bot import run_bot; from corpus.settings import Settings; run_bot(Settings())"



class Latencies:
    def __init__(self) -> None:
        self.samples: list[float] = []
        self.by_step: dict[str, list[float]] = {}

    async def reply(self, step: str, person: FakeUser, action) -> None:
        started = time.perf_counter()
        await action
        await person.next_reply(timeout=60)
        self._add(step, time.perf_counter() - started)

    async def edit(self, step: str, person: FakeUser, data: str) -> None:
        started = time.perf_counter()
        await person.toggle(data, timeout=60)
        self._add(step, time.perf_counter() - started)

    def _add(self, step: str, seconds: float) -> None:
        self.samples.append(seconds)
        self.by_step.setdefault(step, []).append(seconds)

    def percentile(self, p: float, samples: list[float] | None = None) -> float:
        ordered = sorted(self.samples if samples is None else samples)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def contribute(person: FakeUser, n: int, latencies: Latencies) -> None:
    """One person's whole /share flow, timing every step."""
    await latencies.reply("start", person, person.send("/start"))
    await latencies.reply("consent", person, person.press(person.button_data("consent:quote:"), timeout=60))
    await latencies.reply("profile", person, person.press("profile:skip", timeout=60))
    story = f"Contributor {n}: the water point in our village broke in May and nobody came."
    await latencies.reply("story", person, person.send(story))
    await latencies.reply("why", person, person.send("The district office does not answer villages far from the town."))
    await latencies.edit("driver", person, "driver:governance")
    await latencies.reply("done", person, person.press("drivers:done", timeout=60))
    await latencies.reply("proposal", person, person.send("Train two people here to repair the pump."))


async def run(args) -> dict:
    api = FakeBotAPI()
    await api.start()
    data_dir = Path(tempfile.mkdtemp(prefix="lnob-bench-bot-"))
    env = {
        **os.environ,
        "LNOB_DATA_DIR": str(data_dir),
        "LNOB_PSEUDONYM_KEY": "bench-key-0123456789abcdef0123456789",
        "TELEGRAM_BOT_TOKEN": api.token,
        "LNOB_TELEGRAM_API_URL": api.base_url,
        "LNOB_FLOOD_MESSAGES_PER_MINUTE": "100000",
        "LNOB_FLOOD_CONTRIBUTIONS_PER_DAY": "100000",
        "LNOB_RATE_LIMIT_PER_SECOND": str(args.rate_limit),
        "LNOB_MAX_CONCURRENT_UPDATES": str(max(64, args.concurrency * 2)),
        "LNOB_POLL_TIMEOUT": "10",
    }
    from corpus.db import make_engine, upgrade
    from corpus.settings import Settings

    settings = Settings(data_dir=data_dir, pseudonym_key="bench-key-0123456789abcdef0123456789", _env_file=None)
    upgrade(make_engine(settings.resolved_database_url))
    command = BOT
    if args.no_index:  # diagnosis only: the conversation side alone, contributions stay pending
        command = "import bot.services as s; s.BackgroundIndexer.submit = lambda self, ids: None; " + BOT
    child = subprocess.Popen([sys.executable, "-c", command], env=env, cwd=ROOT)
    bot = psutil.Process(child.pid)
    peak = 0
    stop_sampling = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not stop_sampling.is_set():
            try:
                peak = max(peak, bot.memory_info().rss)
            except psutil.Error:
                return
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        await api.wait_for(lambda: any(m == "getUpdates" for m, _ in api.calls), timeout=120)
        from corpus.store import CorpusStore

        store = CorpusStore(settings)
        warmup = Latencies()
        await asyncio.gather(*(contribute(api.user(), -n, warmup) for n in range(1, 6)))
        if not args.no_index:
            await _indexed(store, 10)  # the embedding model is loaded and the index open
        latencies = Latencies()
        people = [api.user(language_code=("en", "fr", "es", "sw")[n % 4]) for n in range(args.contributors)]
        gate = asyncio.Semaphore(args.concurrency)

        async def one(n: int) -> None:
            async with gate:
                await contribute(people[n], n, latencies)

        bot_cpu_before, loop_cpu_before, driver_cpu_before = _cpu(bot), _loop_cpu(bot), _cpu(psutil.Process())
        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(args.contributors)))
        elapsed = time.perf_counter() - started
        run_bot_cpu = _cpu(bot) - bot_cpu_before
        run_loop_cpu = _loop_cpu(bot) - loop_cpu_before
        run_driver_cpu = _cpu(psutil.Process()) - driver_cpu_before
        stored = store.count_testimonies()
        index_started = time.perf_counter()
        if not args.no_index:
            await _indexed(store, stored)
        index_wait = time.perf_counter() - index_started
    finally:
        try:
            bot_cpu = sum(bot.cpu_times()[:2])
        except psutil.Error:
            bot_cpu = float("nan")
        child.terminate()
        try:  # on a thread: the fake server must keep answering while the bot shuts down
            await asyncio.to_thread(child.wait, timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
        stop_sampling.set()
        await sampler
        await api.stop()
    return {
        "contributors": args.contributors,
        "concurrency": args.concurrency,
        "rate_limit_per_s": args.rate_limit,
        "contributions": args.contributors,
        "rows_stored": stored,
        "seconds": round(elapsed, 2),
        "contributions_per_s": round(args.contributors / elapsed, 1),
        "replies": len(latencies.samples),
        "p50_ms": round(statistics.median(latencies.samples) * 1000, 1),
        "p95_ms": round(latencies.percentile(95) * 1000, 1),
        "p95_ms_by_step": " ".join(
            f"{step}={latencies.percentile(95, samples) * 1000:.0f}" for step, samples in latencies.by_step.items()
        ),
        "index_backlog_drained_after_s": round(index_wait, 2),
        "peak_rss_mb": round(peak / 2**20, 1),
        "bot_cpu_s": round(bot_cpu, 1),
        "bot_cpu_ms_per_contribution": round(run_bot_cpu / args.contributors * 1000, 1),
        "bot_cpu_share_of_a_core": round(run_bot_cpu / elapsed, 2),
        "bot_event_loop_cpu_ms_per_contribution": round(run_loop_cpu / args.contributors * 1000, 1),
        "driver_cpu_ms_per_contribution": round(run_driver_cpu / args.contributors * 1000, 1),
        "driver_cpu_share_of_a_core": round(run_driver_cpu / elapsed, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "api_errors": len(api.errors),
    }


def _cpu(process: psutil.Process) -> float:
    """User + system CPU seconds of ``process`` and its threads so far."""
    times = process.cpu_times()
    return times.user + times.system


def _loop_cpu(process: psutil.Process) -> float:
    """CPU seconds of the process's main thread, which runs the bot's event loop."""
    for thread in process.threads():
        if thread.id == process.pid:
            return thread.user_time + thread.system_time
    return float("nan")


async def _indexed(store, at_least: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = store.status_counts()
        if counts["indexed"] >= at_least and counts["pending"] == 0:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"index backlog not drained: {store.status_counts()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contributors", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=50, help="people in a flow at the same time")
    parser.add_argument("--rate-limit", type=float, default=0, help="bot's outbound calls per second (0: none)")
    parser.add_argument("--no-index", action="store_true", help="diagnosis: do not embed or index during the run")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    verdicts = {
        "contributions_per_s": result["contributions_per_s"] >= TARGETS["contributions_per_s"],
        "p95_ms": result["p95_ms"] <= TARGETS["p95_ms"],
        "peak_rss_mb": result["peak_rss_mb"] <= TARGETS["peak_rss_mb"],
    }
    for key, ok in verdicts.items():
        print(f"target {key}: {TARGETS[key]} -> {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
