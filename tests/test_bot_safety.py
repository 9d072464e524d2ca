"""End to end: everything else a person might send, groups, floods, escaping, long replies, quiet logs."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import Session, select

from corpus import models
from corpus.chatstate import BotState
from corpus.store import TestimonyDraft
from tests.support.fake_bot_api import enrol, eventually, running_bot, tell

pytestmark = pytest.mark.asyncio(loop_scope="session")

MEDIA = ["photo", "video", "video_note", "animation", "sticker", "document", "location", "venue", "contact", "dice"]


def rows(evidence, model):
    with Session(evidence.store.engine) as session:
        return list(session.exec(select(model)))


async def test_every_kind_of_non_text_message_gets_a_kind_reply_and_nothing_is_stored(api, bot, evidence):
    person = api.user()
    await enrol(person)
    for kind in ("voice", "audio"):
        await person.send_media(kind)
        assert "type what you said" in (await person.next_reply()).text
    for kind in MEDIA:
        await person.send_media(kind)
        assert "only keep written text" in (await person.next_reply()).text, kind
    assert rows(evidence, models.Testimony) == []
    assert "Why do you think" in (await person.say("The flow is still waiting for my story.")).text


async def test_a_group_chat_collects_nothing_and_offers_a_private_chat(api, bot, evidence):
    person = api.user()
    in_group = api.in_group(person)
    link = "https://t.me/lnob_test_bot"
    assert link in (await in_group.say("/start")).text
    assert link in (await in_group.say("@lnob_test_bot our road is broken")).text
    await in_group.send("Just people talking in the group about their road")
    await in_group.send_media("voice")
    await in_group.silence(0.5)
    added = in_group._message(new_chat_members=[api.bot_user])
    await api.push("message", added)
    assert "private chat" in (await in_group.next_reply()).text
    channel = {"id": -1009876, "type": "channel", "title": "News"}
    api.chat(channel)
    post = {"message_id": 1, "chat": channel, "date": 0, "text": "/share", "sender_chat": channel,
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}
    await api.push("channel_post", post)
    await eventually(lambda: len(api.outbox(channel["id"])) == 1)
    assert link in api.outbox(channel["id"])[0].text
    assert rows(evidence, models.Contributor) == [] and rows(evidence, models.Testimony) == []
    assert rows(evidence, BotState) == []


async def test_the_flood_limit_answers_once_and_processes_nothing_more(api, evidence):
    person = api.user()
    async with running_bot(api, evidence.settings, evidence, flood_messages_per_minute=6):
        await enrol(person)  # 3 updates
        await person.say("/share")  # 4
        await person.say("The well is dry.")  # 5: the story
        await person.say("No rain for a year.")  # 6: why
        await person.send("/cancel")  # 7: over the limit
        assert "very quickly" in (await person.next_reply()).text
        await person.press("drivers:unsure", answered=False)  # 8: dropped silently, no second warning
        await person.send("More text")
        await person.silence(0.5)
    assert rows(evidence, models.Testimony) == []
    async with running_bot(api, evidence.settings, evidence, flood_messages_per_minute=6):
        assert "What should be done" in (await person.choose("drivers:unsure")).text  # the flow was kept


async def test_the_daily_contribution_limit(api, evidence):
    person = api.user()
    async with running_bot(api, evidence.settings, evidence, flood_contributions_per_day=2):
        await enrol(person)
        await tell(person, "First story.", proposal="A linked proposal is part of the same contribution.")
        await person.say("/propose")
        await person.say("A proposal on its own.")
        assert "2 contributions in the last 24 hours" in (await person.say("/share")).text
        assert "2 contributions in the last 24 hours" in (await person.say("/propose")).text
        await person.say("A text outside the flow")
        assert "2 contributions" in (await person.choose("record:yes")).text
    assert len(rows(evidence, models.Testimony)) == 3


async def test_user_text_is_shown_literally_in_html_replies(api, bot, evidence):
    person = api.user()
    await enrol(person)
    tricky = "<b>not bold</b> & *stars* _under_ `tick` [x](y) ~s~ || > < &amp;"
    await tell(person, tricky)
    listing = await person.say("/mydata")
    assert tricky in listing.text
    entities = api.outbox(person.chat_id)[-1].raw.get("entities", [])
    assert [e["type"] for e in entities] == ["bold"]  # only the short id is bold
    await person.say("/profile")
    await person.choose("age:skip")
    await person.choose("gender:skip")
    bad = await person.say("<i>&</i>")
    assert "“<i>&</i>” is not a country code" in bad.text


async def test_replies_never_exceed_4096_characters(api, bot, evidence):
    person = api.user()
    await enrol(person)
    too_long = await person.say("x" * 4090)
    assert "4090 characters long and the limit is 4000" in too_long.text
    await person.say("/cancel")
    contributor = evidence.store.find_contributor(person.id)
    for n in range(12):
        evidence.store.add_testimony(
            TestimonyDraft(text=f"Story {n}: " + "water & <fees> " * 260, contributor_id=contributor.id)
        )
    await person.send("/mydata")
    pages = await person.replies(3)
    document = await person.next_reply()
    assert all(len(page.text) <= 4096 for page in pages)
    assert document.document["file_name"] == "my-contributions.txt"
    listing = api.files[document.document["file_id"]].decode()
    assert all(f"Story {n}:" in listing for n in range(12)) and "water & <fees>" in listing


async def test_logs_hold_no_message_texts_names_or_telegram_ids(api, evidence, caplog):
    caplog.set_level(logging.DEBUG)
    person = api.user(first_name="Zawadi", username="zawadi_k", language_code="sw")
    async with running_bot(api, evidence.settings, evidence) as application:
        await enrol(person)
        await tell(person, "SIRI-YA-KIPEKEE mvua haikunyesha", why="SABABU-YA-SIRI", proposal="PENDEKEZO-LA-SIRI")
        await person.say("/delete")
        await person.choose("delete:all")
        await application.bot_data["services"].indexer.join()
    logged = caplog.text + " ".join(str(record.args) for record in caplog.records)
    assert caplog.records  # the bot and the libraries did log
    for secret in ("SIRI-YA-KIPEKEE", "SABABU-YA-SIRI", "PENDEKEZO-LA-SIRI", "Zawadi", "zawadi_k", str(person.id), api.token):
        assert secret not in logged


async def test_text_without_words_or_in_an_unreadable_alphabet_is_refused_clearly(api, bot, evidence):
    person = api.user()
    await enrol(person)
    assert "no words, only numbers, symbols or emoji" in (await person.say("😢😢 !!! 112")).text
    await person.say("/cancel")
    assert "record this message" in (await person.say("ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ ᎠᏓᏅᏙ ᎤᏍᏗ")).text  # Cherokee, outside a flow
    assert "cannot read that alphabet" in (await person.choose("record:yes")).text
    assert rows(evidence, models.Testimony) == []
