"""End to end: the real bot Application over HTTP against the fake Bot API, driven by scripted people."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from corpus.chatstate import BotState
from corpus import models
from corpus.models import Consent, Contributor
from corpus.themes import Assignment
from tests.support.fake_bot_api import enrol, eventually, running_bot, share, tell

pytestmark = pytest.mark.asyncio(loop_scope="session")


def rows(evidence, model, *where):
    with Session(evidence.store.engine) as session:
        return list(session.exec(select(model).where(*where)))


async def test_the_whole_flow_in_english_from_a_partner_link(api, evidence):
    evidence.store.add_organisation("care-ke", "CARE Kenya")
    amina = api.user(first_name="Amina", username="amina_k", language_code="en-GB")
    async with running_bot(api, evidence.settings, evidence) as application:
        notice = await amina.say("/start care-ke")
        assert "Who reads it" in notice.text and "never stored" in notice.text and "/delete" in notice.text
        org = evidence.store.organisation("care-ke").id
        assert notice.callback_data == [f"consent:{c}:en:{org}" for c in ("quote", "aggregate", "decline")]
        offer = await amina.choose(notice.callback_data[0])
        assert "quotes" in offer.text and "optional" in offer.text
        await amina.choose("profile:yes")
        assert "gender" in (await amina.choose("age:25_39")).text
        country = await amina.choose("gender:woman")
        assert "KE" in " ".join(label for label, _ in country.buttons)
        bad = await amina.say("ZZ")
        assert "“ZZ” is not a country code" in bad.text and "country:KE" in bad.callback_data
        assert "region" in (await amina.say("ke")).text
        groups = await amina.say("Kisumu")
        await amina.toggle("group:disability")
        await amina.toggle("group:rural_or_remote")
        ticked = [label for label, _ in amina.message_with_button("groups:done").buttons if label.startswith("✓")]
        assert ticked == ["✓ Person with a disability", "✓ Rural or remote area"]
        story_question = await amina.choose("groups:done")
        assert "answers are saved" in story_question.text and "what happened" in story_question.text
        assert groups.message_id < story_question.message_id
        thanks = await tell(
            amina,
            "The clinic is 30 km away and the bus costs a day's wage.",
            why="Nobody in the district office listens to villages like ours.",
            drivers=("geography", "socio_economic"),
            proposal="Send a mobile clinic every week.",
        )
        stored = rows(evidence, models.Testimony)
        assert "saved as number" in thanks.text and "proposal is saved" in thanks.text
        await application.bot_data["services"].indexer.join()

    contributor = rows(evidence, Contributor)[0]
    assert (contributor.age_band, contributor.gender, contributor.country, contributor.region) == (
        "25_39",
        "woman",
        "KE",
        "Kisumu",
    )
    assert contributor.groups == ["disability", "rural_or_remote"]
    assert contributor.organisation_id == evidence.store.organisation("care-ke").id
    assert contributor.pseudonym == evidence.store.pseudonym_for(amina.id)
    consent = rows(evidence, Consent)[0]
    assert consent.level == "quote" and re.fullmatch(r"2026\.2\+[0-9a-f]{8}", consent.text_version)
    story = next(t for t in stored if t.kind == "testimony")
    proposal = next(t for t in stored if t.kind == "proposal")
    assert story.id[:8] in thanks.text
    assert story.why_text == "Nobody in the district office listens to villages like ours."
    assert story.self_drivers == ["geography", "socio_economic"]
    assert (story.language, story.country, story.region, story.consent_level) == ("en", "KE", "Kisumu", "quote")
    assert proposal.parent_id == story.id and proposal.text == "Send a mobile clinic every week."
    assert str(amina.id) not in (story.source_ref + proposal.source_ref)
    assert evidence.index.ids() >= {story.id, proposal.id}
    assert {t.index_status for t in rows(evidence, models.Testimony)} == {"indexed"}
    raw = (evidence.settings.resolved_data_dir / "lnob.sqlite3").read_bytes()
    for secret in (str(amina.id), "amina_k", "Amina"):
        assert secret.encode() not in raw


async def test_the_whole_flow_in_swahili(api, bot, evidence):
    juma = api.user(first_name="Juma", language_code="sw")
    notice = await juma.say("/start")
    assert "Tusimwache Mtu Nyuma" in notice.text
    offer = await juma.choose("consent:aggregate:sw:0")
    assert "hayatanukuliwa" in offer.text
    assert "Tueleze" in (await juma.choose("profile:skip")).text
    assert "Unadhani" in (await juma.say("Mvua ilipokosa, mifugo yetu yote ilikufa.")).text
    assert "Sina uhakika" in " ".join(label for label, _ in (await juma.choose("why:skip")).buttons)
    assert "Nini kifanyike" in (await juma.choose("drivers:unsure")).text
    thanks = await juma.choose("proposal:skip")
    assert "Asante kwa kushiriki" in thanks.text
    (story,) = rows(evidence, models.Testimony)
    assert (story.language, story.consent_level, story.self_drivers, story.kind) == ("sw", "aggregate", [], "testimony")
    assert "Badilisha lugha" in str(api.commands["sw"])


async def test_declining_stores_nothing_at_all(api, bot, evidence):
    person = api.user(language_code="fr")
    notice = await person.say("/start")
    assert "Ne laisser personne de côté" in notice.text
    await person.send("Je voulais raconter quelque chose")
    assert "Avant de partager" in (await person.next_reply()).text
    declined = await person.choose("consent:decline:fr:0")
    assert "Rien vous concernant n'a été enregistré" in declined.text
    assert rows(evidence, Contributor) == [] and rows(evidence, Consent) == [] and rows(evidence, models.Testimony) == []
    assert rows(evidence, BotState) == []
    assert "Avant de partager" in (await person.say("/share")).text
    assert rows(evidence, Contributor) == [] and rows(evidence, BotState) == []


async def test_mydata_lists_redacted_contributions_with_date_and_short_id(api, bot, evidence):
    person = api.user()
    await enrol(person)
    await tell(person, "Call me on +254 712 345 678, the water point is broken.")
    await share(person, "Our school has no teacher since March.", proposal="Pay teachers on time.")
    listing = await person.say("/mydata")
    ids = [t.id[:8] for t in sorted(rows(evidence, models.Testimony), key=lambda t: t.created_at)]
    assert "3 contribution(s)" in listing.text
    assert all(short in listing.text for short in ids)
    assert "[PHONE]" in listing.text and "712 345" not in listing.text
    assert "proposal" in listing.text and rows(evidence, models.Testimony)[0].created_at.strftime("%Y-%m-%d") in listing.text


async def test_delete_erases_the_person_from_the_database_and_the_index(api, bot, evidence):
    person = api.user()
    await enrol(person)
    await tell(person, "The road to the market floods every rainy season.", proposal="Build a bridge.")
    await share(person, "Girls leave school early to fetch water.")
    await bot.bot_data["services"].indexer.join()
    ids = {t.id for t in rows(evidence, models.Testimony)}
    assert len(ids) == 3 and ids <= evidence.index.ids()
    confirm = await person.say("/delete")
    assert "cannot be undone" in confirm.text
    done = await person.choose("delete:all")
    assert "3 contribution(s)" in done.text
    assert rows(evidence, models.Testimony) == [] and rows(evidence, Contributor) == [] and rows(evidence, Consent) == []
    assert rows(evidence, Assignment) == [] and rows(evidence, BotState) == []
    assert not ids & evidence.index.ids()
    assert "not shared anything" in (await person.say("/mydata")).text


async def test_delete_one_contribution_by_its_short_id(api, bot, evidence):
    person = api.user()
    await enrol(person)
    await tell(person, "The clinic has no medicine most weeks.", proposal="Stock the clinic monthly.")
    await share(person, "We have no land titles.")
    first = next(t for t in rows(evidence, models.Testimony) if t.text.startswith("The clinic"))
    assert "None of your contributions" in (await person.say("/delete zzzz9999")).text
    keep = await person.say(f"/delete {first.id[:8]}")
    assert first.id[:8] in keep.text
    assert "Nothing was erased" in (await person.choose("delete:no")).text
    await person.say(f"/delete {first.id[:8].upper()}")
    assert f"{first.id[:8]} is erased" in (await person.choose(f"delete:one:{first.id}")).text
    await bot.bot_data["services"].indexer.join()
    left = rows(evidence, models.Testimony)
    assert [t.text for t in left] == ["We have no land titles."]
    assert first.id not in evidence.index.ids()
    other = api.user()
    await enrol(other)
    assert "None of your contributions" in (await other.say(f"/delete {left[0].id[:8]}")).text


async def test_a_restart_in_the_middle_of_a_flow_resumes_it(api, evidence):
    person = api.user(language_code="es")
    async with running_bot(api, evidence.settings, evidence):
        await enrol(person)
        assert "¿Por qué" in (await person.say("El agua llega sucia desde hace meses.")).text
        drivers = await person.say("Y nadie viene a arreglar la bomba.")
        assert "drivers:unsure" in drivers.callback_data
        await eventually(lambda: len(rows(evidence, BotState)) == 2)  # written after each update, not at shutdown
    async with running_bot(api, evidence.settings, evidence):
        assert "¿Qué debería hacerse" in (await person.choose("drivers:unsure")).text
        thanks = await person.choose("proposal:skip")
        assert "Gracias por compartir" in thanks.text
    (story,) = rows(evidence, models.Testimony)
    assert story.text == "El agua llega sucia desde hace meses."
    assert story.why_text == "Y nadie viene a arreglar la bomba."
    await eventually(lambda: [r.scope for r in rows(evidence, BotState)] == ["user_data"])  # the flow ended


async def test_text_outside_a_flow_is_kept_and_offered_for_recording(api, bot, evidence):
    person = api.user()
    await enrol(person)
    await person.say("/cancel")
    ask = await person.say("Our village has had no electricity for two years.")
    assert "record this message" in ask.text
    await person.say("The transformer was stolen.")
    assert "Why do you think" in (await person.choose("record:yes")).text
    await person.choose("why:skip")
    await person.choose("drivers:unsure")
    await person.choose("proposal:skip")
    (story,) = rows(evidence, models.Testimony)
    assert story.text == "Our village has had no electricity for two years.\n\nThe transformer was stolen."
    await person.say("Just saying hello")
    assert "did not record it" in (await person.choose("record:no")).text
    assert len(rows(evidence, models.Testimony)) == 1


async def test_a_forwarded_message_is_used_only_if_it_is_the_persons_own(api, bot, evidence):
    person = api.user()
    await enrol(person)
    await person.say("/cancel")
    await person.forward("A chain message about a miracle cure")
    assert "Is it your own experience" in (await person.next_reply()).text
    assert "did not record it" in (await person.choose("own:no")).text
    await person.say("/share")
    await person.forward("I wrote this to my cousin: our well dried up.")
    assert "Is it your own" in (await person.next_reply()).text
    assert "Why do you think" in (await person.choose("own:yes")).text
    await person.choose("why:skip")
    await person.choose("drivers:unsure")
    await person.choose("proposal:skip")
    (story,) = rows(evidence, models.Testimony)
    assert story.text == "I wrote this to my cousin: our well dried up."


async def test_an_edit_during_the_flow_replaces_the_text_and_after_it_explains(api, bot, evidence):
    person = api.user()
    await enrol(person)
    story = await person.send("The bus fare doubled.")
    await person.next_reply()
    await person.edit(story, "The bus fare tripled this year.")
    assert "corrected text" in (await person.next_reply()).text
    await person.choose("why:skip")
    await person.choose("drivers:unsure")
    thanks = await person.choose("proposal:skip")
    (saved,) = rows(evidence, models.Testimony)
    assert saved.text == "The bus fare tripled this year."
    await person.edit(story, "Changed my mind")
    after = await person.next_reply()
    assert f"/delete {saved.id[:8]}" in after.text and saved.id[:8] in thanks.text
    assert rows(evidence, models.Testimony)[0].text == "The bus fare tripled this year."


async def test_cancel_leaves_the_flow_and_stores_nothing(api, bot, evidence):
    person = api.user()
    await enrol(person)
    await person.say("Half of a story")
    assert "Nothing from this step was saved" in (await person.say("/cancel")).text
    assert rows(evidence, models.Testimony) == []
    assert "There is nothing to stop" in (await person.say("/cancel")).text
    assert "record this message" in (await person.say("Something else")).text


async def test_a_proposal_alone(api, bot, evidence):
    person = api.user()
    await enrol(person, level="aggregate")
    assert "Write your proposal" in (await person.say("/propose")).text
    thanks = await person.say("Build a school closer to the camp.")
    (proposal,) = rows(evidence, models.Testimony)
    assert (proposal.kind, proposal.parent_id, proposal.consent_level) == ("proposal", None, "aggregate")
    assert proposal.id[:8] in thanks.text and "proposal is saved" in thanks.text


async def test_share_before_consent_shows_the_notice_first(api, bot, evidence):
    person = api.user()
    reply = await person.say("/share")
    assert "Before you share anything" in reply.text and "consent:quote:en:0" in reply.callback_data
    assert rows(evidence, Contributor) == []


async def test_help_unknown_commands_language_and_privacy(api, bot, evidence):
    person = api.user()
    assert "/share" in (await person.say("/help")).text
    unknown = await person.say("/dance")
    assert "do not know that command" in unknown.text and "/mydata" in unknown.text
    await enrol(person)
    choices = await person.say("/language")
    assert [label for label, _ in choices.buttons] == ["English", "Français", "Español", "Kiswahili"]
    assert "français" in (await person.choose("lang:fr")).text
    assert "Pourquoi" in (await person.say("Les routes sont coupées.")).text
    assert rows(evidence, Contributor)[0].language == "fr"
    privacy = await person.say("/privacy")
    assert "Votre choix actuel : vous pouvez être cité" in privacy.text
    assert "consent:decline:fr:0" not in privacy.callback_data
    assert "jamais cités" in (await person.choose("consent:aggregate:fr:0")).text
    assert evidence.store.current_consent(rows(evidence, Contributor)[0].id).level == "aggregate"
    assert "De quoi parle" in (await person.choose("why:skip")).text  # the flow went on where it was
    assert set(api.commands) == {"", "en", "fr", "es", "sw"}


async def test_a_stale_button_is_answered_and_ignored(api, bot, evidence):
    person = api.user()
    await enrol(person)
    await tell(person, "Prices went up after the floods.", why="Traders hoard food.")  # the skip button stays
    answer = await person.press("why:skip")
    assert answer.get("text") == "This button is no longer active."
    assert len(rows(evidence, models.Testimony)) == 1


async def test_the_driver_buttons_come_from_the_configured_codebook(api, tmp_path, monkeypatch):
    """Regression: the buttons came from the bundled codebook while the analysis used LNOB_CODEBOOK_PATH."""
    import yaml

    from analysis.drivers import DEFAULT_CODEBOOK
    from analysis.evidence import EvidenceBase
    from corpus.db import make_engine, upgrade
    from corpus.settings import Settings
    from tests.support.corpora import TEST_KEY

    codebook = yaml.safe_load(DEFAULT_CODEBOOK.read_text(encoding="utf-8"))
    codebook["drivers"]["governance"]["plain"]["en"] = "Leaders who never come to our village"
    path = tmp_path / "drivers.yaml"
    path.write_text(yaml.safe_dump(codebook, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("LNOB_CODEBOOK_PATH", str(path))
    settings = Settings(data_dir=tmp_path / "data", pseudonym_key=TEST_KEY, _env_file=None)
    upgrade(make_engine(settings.resolved_database_url))
    evidence = EvidenceBase(settings)
    person = api.user(language_code="en")
    async with running_bot(api, settings, evidence):
        await enrol(person)
        await person.say("The water point broke in May and nobody came to repair it.")
        drivers = await person.choose("why:skip")
        assert ("Leaders who never come to our village", "driver:governance") in drivers.buttons
    assert evidence.codebook.get("governance").plain["en"] == "Leaders who never come to our village"
