"""The bot's parts that need no Telegram: settings, links, splitting, flood window, sealed state, persistence."""

from __future__ import annotations

import asyncio
import html
from datetime import timedelta

import pytest
from sqlalchemy import inspect

from bot.config import BotConfigError, BotSettings
from bot.flood import FloodGuard
from bot.links import deep_link
from bot.messages import MESSAGE_LIMIT, cut, paginate, utf16_len
from bot.persistence import USER_DATA, DatabasePersistence
from bot.profile import parse_country_answer
from corpus.chatstate import ChatStateStore, Sealer
from corpus.db import downgrade, make_engine, upgrade
from corpus.models import utcnow
from corpus.store import CorpusStore, TestimonyDraft
from tests.support.fake_bot_api import parse_html

ASYNC = pytest.mark.asyncio(loop_scope="session")


# -- settings and links -----------------------------------------------------------------


def test_the_token_comes_from_telegram_bot_token(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "42:secret")
    monkeypatch.setenv("LNOB_TELEGRAM_API_URL", "http://localhost:8081/bot")
    settings = BotSettings(_env_file=None)
    assert settings.require_token() == "42:secret"
    assert settings.resolved_file_url == "http://localhost:8081/file/bot"


def test_a_missing_token_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with pytest.raises(BotConfigError, match="TELEGRAM_BOT_TOKEN is not set.*@BotFather"):
        BotSettings(_env_file=None).require_token()


def test_country_choices_are_read_comma_separated(monkeypatch):
    monkeypatch.setenv("LNOB_COUNTRY_CHOICES", "ke, np,gt")
    assert BotSettings(_env_file=None).country_choices == ["KE", "NP", "GT"]


def test_deep_links_carry_the_organisation_code():
    assert deep_link("lnob_voices_bot", "care-ke") == "https://t.me/lnob_voices_bot?start=care-ke"
    assert deep_link("@lnob_voices_bot") == "https://t.me/lnob_voices_bot"
    with pytest.raises(ValueError):
        deep_link("lnob_voices_bot", "not a code!")


def test_countries_are_iso_codes_typed_or_as_flags():
    assert parse_country_answer(" ke ") == "KE"
    assert parse_country_answer("🇳🇵") == "NP"
    assert parse_country_answer("ZZ") is None
    assert parse_country_answer("Kenya") is None


# -- 4096 characters --------------------------------------------------------------------


def test_long_text_is_cut_into_pages_telegram_accepts():
    raw = ("Water & <school> fees " * 900).strip()  # ~20k characters, ~40k once escaped
    pages = paginate([html.escape(raw, quote=False)])
    assert len(pages) > 1
    shown = []
    for page in pages:
        assert utf16_len(page) <= MESSAGE_LIMIT
        text, _ = parse_html(page)  # never cut inside an entity
        shown.append(text)
    assert " ".join(shown).split() == raw.split()


def test_pages_are_counted_in_utf16_units():
    emoji = "🙂" * 3000  # 6000 UTF-16 units
    pieces = cut(emoji)
    assert all(utf16_len(piece) <= MESSAGE_LIMIT for piece in pieces)
    assert "".join(pieces) == emoji


def test_blocks_are_packed_in_order_without_splitting_short_ones():
    blocks = [f"<b>{n}</b> " + "x" * 1500 for n in range(6)]
    pages = paginate(blocks)
    assert len(pages) == 3
    assert all(page.count("<b>") == page.count("</b>") for page in pages)
    assert [b for page in pages for b in page.split("\n\n")] == blocks


# -- flood window -----------------------------------------------------------------------


def test_flood_guard_is_a_sliding_window_that_warns_once():
    now = [0.0]
    guard = FloodGuard(limit=3, period=60, clock=lambda: now[0])
    assert [guard.allow("p").allowed for _ in range(3)] == [True, True, True]
    first, second = guard.allow("p"), guard.allow("p")
    assert (first.allowed, first.warn) == (False, True)
    assert (second.allowed, second.warn) == (False, False)
    assert guard.allow("someone else").allowed
    now[0] = 60.5
    assert guard.allow("p").allowed
    now[0] = 200
    guard.allow("q")
    assert len(guard) == 1  # people with an empty window are forgotten


# -- sealed bot state -------------------------------------------------------------------


def test_sealed_state_opens_only_with_the_same_secret():
    sealer = Sealer(b"secret")
    token = sealer.seal(b'{"k":"123"}')
    assert sealer.open(token) == b'{"k":"123"}'
    assert "123" not in token
    with pytest.raises(ValueError):
        Sealer(b"other").open(token)
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(ValueError):
        sealer.open(tampered)


def test_state_rows_hold_no_telegram_id_in_the_clear(migrated_settings):
    engine = make_engine(migrated_settings.resolved_database_url)
    states = ChatStateStore(engine, b"secret")
    states.apply([(USER_DATA, "987654321", {"draft": {"story": "water is far"}}), ("conversation:c", "[987654321, 987654321]", "WHY")])
    assert states.load(USER_DATA) == {"987654321": {"draft": {"story": "water is far"}}}
    assert states.get("conversation:c", "[987654321, 987654321]") == "WHY"
    engine.dispose()
    raw = (migrated_settings.resolved_data_dir / "lnob.sqlite3").read_bytes()
    wal = migrated_settings.resolved_data_dir / "lnob.sqlite3-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert b"987654321" not in raw and b"water is far" not in raw
    assert ChatStateStore(make_engine(migrated_settings.resolved_database_url), b"other").load(USER_DATA) == {}


def test_a_none_value_deletes_the_row(migrated_settings):
    states = ChatStateStore(make_engine(migrated_settings.resolved_database_url), b"secret")
    states.apply([(USER_DATA, "1", {"a": 1}), (USER_DATA, "1", {"a": 2}), (USER_DATA, "2", {"b": 1})])
    assert states.load(USER_DATA) == {"1": {"a": 2}, "2": {"b": 1}}
    states.apply([(USER_DATA, "1", None)])
    assert states.load(USER_DATA) == {"2": {"b": 1}}
    assert states.count() == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_state_changes_replace_and_delete_in_one_write(backend, migrated_settings, request):
    if backend == "sqlite":
        engine = make_engine(migrated_settings.resolved_database_url)
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        upgrade(engine)
    states = ChatStateStore(engine, b"secret")
    states.apply([(USER_DATA, str(n), {"n": n}) for n in range(450)])  # more rows than one INSERT carries
    assert states.count(USER_DATA) == 450
    states.apply([
        (USER_DATA, "1", {"n": "first"}),
        (USER_DATA, "1", {"n": "second"}),  # the later change wins
        (USER_DATA, "2", None),
        (USER_DATA, "3", None),
        (USER_DATA, "3", {"n": "back"}),  # deleted, then written again
        ("conversation:c", "[7, 7]", "STORY"),
        ("conversation:c", "[8, 8]", None),  # deleting what is not there is fine
    ])
    kept = states.load(USER_DATA)
    assert len(kept) == 449 and kept["1"] == {"n": "second"} and "2" not in kept and kept["3"] == {"n": "back"}
    assert states.load("conversation:c") == {"[7, 7]": "STORY"}
    engine.dispose()


@ASYNC
async def test_persistence_keeps_nothing_before_consent(migrated_settings):
    engine = make_engine(migrated_settings.resolved_database_url)
    persistence = DatabasePersistence(ChatStateStore(engine, b"secret"), transient_states={"CONSENT"})
    await persistence.update_user_data(5, {"lang": "fr", "pending": {"text": "hello"}})
    await persistence.update_conversation("contributor", (5, 5), "CONSENT")
    assert persistence.states.count() == 0
    await persistence.update_user_data(5, {"lang": "fr", "consented": True})
    await persistence.update_conversation("contributor", (5, 5), "STORY")
    await persistence.flush()
    assert persistence.states.count() == 2
    reloaded = DatabasePersistence(ChatStateStore(engine, b"secret"))
    assert await reloaded.get_user_data() == {5: {"lang": "fr", "consented": True}}
    assert await reloaded.get_conversations("contributor") == {(5, 5): "STORY"}
    await persistence.update_conversation("contributor", (5, 5), None)
    await persistence.drop_user_data(5)
    assert persistence.states.count() == 0


@ASYNC
async def test_persistence_coalesces_one_run_into_one_transaction(migrated_settings, monkeypatch):
    import asyncio

    engine = make_engine(migrated_settings.resolved_database_url)
    persistence = DatabasePersistence(ChatStateStore(engine, b"secret"))
    batches = []
    apply = persistence.states.apply
    monkeypatch.setattr(persistence.states, "apply", lambda changes: (batches.append(len(changes)), apply(changes)))
    await asyncio.gather(*(persistence.update_user_data(n, {"consented": True, "n": n}) for n in range(20)))
    assert sum(batches) == 20 and len(batches) <= 2
    await persistence.update_user_data(3, {"consented": True, "n": 3})  # unchanged: not written again
    assert sum(batches) == 20


# -- store queries for the bot ------------------------------------------------------------


def test_contributions_in_the_last_day_count_a_testimony_with_its_proposal_once(migrated_settings):
    store = CorpusStore(migrated_settings)
    contributor = store.get_or_create_contributor(77)
    story = store.add_testimony(TestimonyDraft(text="The road floods every year", contributor_id=contributor.id))
    store.add_testimony(TestimonyDraft(text="Build a bridge", kind="proposal", parent_id=story.id, contributor_id=contributor.id))
    store.add_testimony(TestimonyDraft(text="Teachers never come", contributor_id=contributor.id))
    since = utcnow() - timedelta(days=1)
    assert store.contributions_since(contributor.id, since) == 2
    assert store.contributions_since(contributor.id, utcnow() + timedelta(minutes=1)) == 0


def test_a_story_and_its_proposal_are_stored_together_and_once(evidence):
    from bot.contributor.enrolment import Enrolment
    from bot.contributor.storage import store_draft as _store_draft

    contributor, _ = evidence.store.enrol(88, "quote", "v1", language="en")
    enrolment = Enrolment(contributor.id, "quote", "KE", None)
    draft = {"kind": "testimony", "story": "The clinic is two days away", "story_msg": 10, "why": "No road",
             "drivers": ["geography"], "proposal": "A mobile clinic every month", "proposal_msg": 12}
    story_id, proposal_id = _store_draft(evidence, draft, enrolment, "en", "abcd")
    story, proposal = evidence.store.records([story_id, proposal_id])
    assert (story.kind, proposal.kind, proposal.parent_id) == ("testimony", "proposal", story_id)
    assert _store_draft(evidence, draft, enrolment, "en", "abcd") == [story_id, proposal_id]  # a retried step
    alone = {"kind": "proposal", "proposal": "A mobile clinic every month", "proposal_msg": 20}
    (alone_id,) = _store_draft(evidence, alone, enrolment, "en", "abcd")
    assert evidence.store.records([alone_id])[0].parent_id is None
    assert evidence.store.count_testimonies() == 3


def test_the_bot_state_migration_upgrades_and_downgrades(settings):
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    assert inspect(engine).has_table("bot_state")
    downgrade(engine, "0002")
    assert not inspect(engine).has_table("bot_state")
    upgrade(engine)
    assert inspect(engine).has_table("bot_state")


def test_the_background_indexer_embeds_at_low_priority():
    """Embedding is the bot's largest CPU cost and nobody waits for it: it yields to the conversations."""
    import os
    import threading

    from bot.services import INDEXER_NICENESS, SerialWorker

    def priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    own = priority()
    worker = SerialWorker("test-low", niceness=INDEXER_NICENESS)
    try:
        assert asyncio.run(worker(priority)) == min(19, own + INDEXER_NICENESS)
    finally:
        worker.close()
    normal = SerialWorker("test-normal")
    try:
        assert asyncio.run(normal(priority)) == own
    finally:
        normal.close()
