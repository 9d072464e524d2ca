"""Clearing the chat: the bot deletes its messages and the person's from the phone, and keeps no id too long.

End to end: the real bot Application over HTTP against the fake Bot API,
which keeps every message of a chat until it is deleted and refuses to
delete one older than 48 hours (so a bot asking too late fails the test).
"""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session, select

from bot import clearing, trail
from corpus import models
from corpus.chatstate import BotState, ChatStateStore
from tests.support.fake_bot_api import ApiError, enrol, running_bot, share

e2e = pytest.mark.asyncio(loop_scope="session")
HOUR = 3600


def stored_testimonies(evidence) -> list[models.Testimony]:
    with Session(evidence.store.engine) as session:
        return list(session.exec(select(models.Testimony)))


def stored_user_data(evidence) -> dict:
    return ChatStateStore(evidence.store.engine, evidence.settings.resolved_pseudonym_key).load("user_data")


# -- the chat's trail, alone ----------------------------------------------------------------


def test_the_trail_keeps_ids_only_while_they_can_be_deleted():
    data: dict = {}
    now = 1_000_000.0
    trail.note(data, 1, now - 47 * HOUR, now)
    trail.note(data, 2, now - 49 * HOUR, now)  # already too old when it arrives
    trail.note(data, 3, now, now)
    assert trail.deletable(data, now) == [1, 3] and trail.aged_out(data) == 1
    assert trail.deletable(data, now + 2 * HOUR) == [3] and trail.aged_out(data) == 2
    assert trail.prune(data, now + 48 * HOUR) is True
    assert data == {trail.AGED: 3}  # a count is left, never an id


def test_ids_of_stored_messages_go_with_the_trail():
    data: dict = {}
    now = 1_000_000.0
    trail.note(data, 7, now - 47 * HOUR, now)
    trail.note(data, 9, now, now)
    data["saved"] = {"7": "abcd1234", "9": "abcd1234"}  # stored messages, to answer their edits
    assert trail.prune(data, now + 2 * HOUR) is True
    assert data["saved"] == {"9": "abcd1234"}
    trail.forget(data, [9])
    assert data["saved"] == {} and trail.TRAIL not in data


def test_the_sweep_prunes_everyone_and_names_who_changed():
    now = 1_000_000.0
    fresh, stale, none = {}, {}, {"lang": "sw"}
    trail.note(fresh, 1, now, now)
    trail.note(stale, 1, now - 40 * HOUR, now - 40 * HOUR)
    assert trail.sweep({11: fresh, 12: stale, 13: none}, now + 10 * HOUR) == [12]
    assert trail.TRAIL not in stale and fresh[trail.TRAIL] == [[1, now]]


# -- end to end -----------------------------------------------------------------------------


@e2e
async def test_after_a_contribution_the_chat_can_be_cleared_and_the_contribution_stays(api, bot, evidence):
    person = api.user()
    await enrol(person)
    thanks = await share(person, "The water point in our village has been broken since March.")
    assert "clear this chat" in thanks.text and thanks.callback_data == ["clear:yes"]
    before = api.messages_in(person.chat_id)
    assert len(before) > 10  # /start, the notice, the answers, the person's messages...
    await person.press("clear:yes")
    report = await person.next_reply()
    assert f"I deleted {len(before)} message(s)" in report.text
    assert "press and hold it" in report.text
    assert api.messages_in(person.chat_id) == [report.message_id]  # the person's messages and the bot's are gone
    assert api.deleted_in(person.chat_id) == set(before)
    (stored,) = stored_testimonies(evidence)
    assert stored.text == "The water point in our village has been broken since March."


@e2e
async def test_clear_asks_first_works_mid_flow_and_deletes_in_batches_of_100(api, evidence):
    person = api.user(language_code="fr")
    async with running_bot(api, evidence.settings, evidence, flood_messages_per_minute=500):
        await enrol(person)
        for _ in range(60):
            await person.say("/help")
        await person.say("/share")
        question = await person.say("/clear")
        assert question.callback_data == ["clear:yes", "clear:no"] and "reste enregistré" in question.text
        kept = await person.choose("clear:no")
        assert "reste telle quelle" in kept.text
        count = len(api.messages_in(person.chat_id))
        await person.say("/clear")
        report = await person.choose("clear:yes")
        assert f"j'ai supprimé {count + 2} message(s)" in report.text
        batches = [len(params["message_ids"]) for method, params in api.calls if method == "deleteMessages"]
        assert sum(batches) == count + 2 and max(batches) == 100
        assert api.messages_in(person.chat_id) == [report.message_id]
        story = await person.say("Mon histoire continue après le nettoyage.")  # the flow was left as it was
        assert "Pourquoi" in story.text


@e2e
async def test_what_could_not_be_cleared_is_said_plainly(api, bot, evidence):
    person = api.user()
    old = await person.send("An old message, delivered two days late", sent_at=time.time() - 49 * HOUR)
    await person.next_reply()  # the notice: text before consent is held
    await person.say("/clear")
    report = await person.choose("clear:yes")
    assert "1 older message(s) could not be deleted" in report.text and "48 hours" in report.text
    assert api.messages_in(person.chat_id) == [old["message_id"], report.message_id]  # never asked for: no error


@e2e
async def test_a_batch_telegram_refuses_is_reported_and_can_be_cleared_again(api, bot, evidence, monkeypatch):
    person = api.user()
    await enrol(person)
    refuse = ApiError("Bad Request: message can't be deleted for everyone")

    async def refused(params):
        raise refuse

    with monkeypatch.context() as patched:
        patched.setattr(api, "_api_deleteMessages", refused)
        await person.say("/clear")
        report = await person.choose("clear:yes")
    assert "could not be deleted just now" in report.text and "I deleted" not in report.text
    assert api.errors == [("deleteMessages", refuse.description)]
    api.errors.clear()
    left = api.messages_in(person.chat_id)
    await person.say("/clear")
    again = await person.choose("clear:yes")
    assert f"I deleted {len(left) + 2} message(s)" in again.text
    assert api.messages_in(person.chat_id) == [again.message_id]


@e2e
async def test_declining_or_erasing_everything_still_lets_the_person_clear_the_chat(api, bot, evidence):
    person = api.user(language_code="sw")
    notice = await person.say("/start")
    await person.choose(next(d for d in notice.callback_data if d.startswith("consent:decline:")))
    await person.say("/clear")
    report = await person.choose("clear:yes")
    assert "nimefuta ujumbe" in report.text and api.messages_in(person.chat_id) == [report.message_id]
    assert stored_user_data(evidence) == {}  # nothing about a person who declined is written

    other = api.user()
    await enrol(other)
    await share(other, "The chief took our land and nobody listened to us.")
    await other.say("/delete")
    done = await other.choose("delete:all")
    assert "erased" in done.text and "clear:yes" in done.callback_data
    await other.press("clear:yes")
    report = await other.next_reply()
    assert api.messages_in(other.chat_id) == [report.message_id] and stored_testimonies(evidence) == []
    assert stored_user_data(evidence) == {}


@e2e
async def test_the_trail_survives_a_restart_and_no_id_is_stored_past_48_hours(api, evidence):
    person = api.user()
    async with running_bot(api, evidence.settings, evidence):
        await enrol(person)
        await share(person, "Our school has no teacher since the floods came.")
    kept = stored_user_data(evidence)[str(person.id)]
    assert {m for m, _ in kept[trail.TRAIL]} == set(api.messages_in(person.chat_id))

    async with running_bot(api, evidence.settings, evidence) as application:
        assert clearing.sweep(application, now=time.time() + 48 * HOUR) == 1
        await application.update_persistence()
        after = stored_user_data(evidence)[str(person.id)]
        assert trail.TRAIL not in after and after[trail.AGED] == len(kept[trail.TRAIL])
        assert "saved" not in after or after["saved"] == {}
        with Session(evidence.store.engine) as session:
            assert session.exec(select(BotState)).all()  # the person's flow data is still there, without ids
