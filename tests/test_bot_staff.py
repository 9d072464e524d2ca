"""Staff in chat, end to end: the real Application over HTTP against the fake Bot API, on the analysed demo corpus.

The corpus is the session's analysed demo corpus (``demo_corpus`` in
tests/conftest.py: every third row under ``aggregate`` consent and a
testimony holding a phone number), copied once for this module because the
curation tests change it. Staff are made with ``corpus.staff.StaffStore``
as ``lnob staff add`` does.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from pathlib import Path

import pytest
import pytest_asyncio

from analysis.explore import list_themes, shown_themes, theme_members
from analysis.gaps import breakdowns, compute_gaps
from bot.staff.commands import COMMANDS
from corpus.staff import StaffStore
from tests.support.corpora import PHONE_DIGITS, file_text, phone_record
from tests.support.fake_bot_api import BotMessage, FakeBotAPI, FakeUser, enrol, eventually, running_bot

pytestmark = pytest.mark.asyncio(loop_scope="session")

QUOTE_LINE = re.compile(r"^(?:\d+\. )?([0-9a-f]{8}) · (.+)$", re.M)
ANALYSIS_TIMEOUT = 240


@pytest.fixture(scope="module")
def corpus(demo_corpus, tmp_path_factory):
    """A private copy of the analysed demo corpus for this module."""
    return demo_corpus.copy(tmp_path_factory.mktemp("staff") / "data")


@pytest.fixture(scope="module")
def staff_store(corpus) -> StaffStore:
    return StaffStore(corpus.store.engine, corpus.settings.resolved_pseudonym_key)


@pytest_asyncio.fixture(loop_scope="session")
async def bot(api, corpus):
    async with running_bot(api, corpus.settings, corpus) as application:
        yield application


_USER_IDS = itertools.count(810_000_001)  # every fake API starts its ids afresh; this module's staff stay staff


def user(api: FakeBotAPI, **details) -> FakeUser:
    """A person no earlier test of the module has been (so never staff by accident)."""
    return api.user(user_id=next(_USER_IDS), **details)


def staff(api: FakeBotAPI, store: StaffStore, role: str, org: str = "plan", **details) -> FakeUser:
    person = user(api, **details)
    store.add(person.id, role, org, added_by="test")
    return person


def quoted_ids(message: BotMessage) -> list[str]:
    return [m.group(1) for m in QUOTE_LINE.finditer(message.text)]


def records_by_short(corpus) -> dict:
    return {r.id[:8]: r for r in corpus.store.records()}


def document_bytes(api: FakeBotAPI, message: BotMessage) -> bytes:
    assert message.document is not None, message
    return api.files[message.document["file_id"]]


def as_file(tmp_path: Path, message: BotMessage, content: bytes) -> Path:
    path = tmp_path / message.document["file_name"]
    path.write_bytes(content)
    return path


async def wait_for_text(api: FakeBotAPI, message: BotMessage, needle: str, timeout: float) -> None:
    try:
        await api.wait_for(lambda: needle in (message.raw.get("text") or ""), timeout)
    except TimeoutError:
        raise AssertionError(f"{needle!r} never appeared in {message.raw.get('text')!r}; errors {api.errors}") from None


# -- access -----------------------------------------------------------------------------------

async def test_staff_commands_do_not_exist_for_anyone_else(api, bot, corpus, staff_store):
    person = user(api)
    unknown = (await person.say("/dance")).text
    for name in COMMANDS:
        if name == "help":
            continue
        answer = await person.say(f"/{name} 1 NP")
        assert answer.text == unknown, name
        assert not answer.buttons
    assert (await person.say("/join")).text == unknown  # without a code it is unknown too
    await enrol(person)  # a contributor in the middle of a flow gets the same as for any unknown command
    assert (await person.say("/themes")).text == (await person.say("/dance")).text
    writer = staff(api, staff_store, "writer")
    await writer.say("/themes")
    answer = await _press_foreign_button(api, person, writer, "s:tp:1")
    assert answer.get("text") == "This button is no longer active."
    assert person.chat_id not in api.chat_commands
    assert writer.chat_id in api.chat_commands


async def _press_foreign_button(api: FakeBotAPI, person: FakeUser, owner: FakeUser, data: str) -> dict:
    """``person`` presses a staff button (as if the message had been forwarded to them)."""
    message = owner.message_with_button(data)
    await person.say("/help")  # the person's own chat has a message to hang the press on
    own = api.outbox(person.chat_id)[-1]
    own.raw["reply_markup"] = message.raw["reply_markup"]
    return await person.press(data)


async def test_invite_join_and_revoke(api, bot, corpus, staff_store):
    admin = staff(api, staff_store, "admin", org="plan")
    invite = await admin.say("/invite analyst vso")
    code = re.search(r"/join ([0-9A-F-]{14})", invite.text).group(1)
    assert "analyst of vso" in invite.text
    newcomer = user(api, language_code="fr")
    welcome = await newcomer.say(f"/join {code}")
    assert "Bienvenue" in welcome.text and "analyst" in welcome.text and "vso" in welcome.text
    menu = [c["command"] for c in api.chat_commands[newcomer.chat_id][""]]
    assert "recluster" in menu and "themes" in menu and "invite" not in menu
    assert "Thèmes" in (await newcomer.say("/themes")).text
    third = user(api)
    assert "not valid" in (await third.say(f"/join {code}")).text  # one time only
    listing = await admin.say("/staff")
    member = staff_store.find(newcomer.id)
    assert f"{member.id}. {member.pseudonym[:8]} analyst · vso" in listing.text
    assert str(newcomer.id) not in listing.text
    assert "cannot revoke yourself" in (await admin.say(f"/revoke {staff_store.find(admin.id).id}")).text
    assert "no longer has access" in (await admin.say(f"/revoke {member.id}")).text
    unknown = (await third.say("/dance")).text
    assert (await newcomer.say("/themes")).text == (await newcomer.say("/dance")).text
    assert newcomer.chat_id not in api.chat_commands or not api.chat_commands[newcomer.chat_id]
    assert unknown
    actions = [e.action for e in staff_store.audit_entries(limit=20)]
    assert {"staff.invite", "staff.join", "staff.list", "staff.revoke"} <= set(actions)
    invite_entry = staff_store.audit_entries(limit=20, action="staff.invite")[0]
    assert code not in str(invite_entry.params) and invite_entry.staff == staff_store.find(admin.id).pseudonym
    writer = staff(api, staff_store, "writer")
    assert "needs the admin role" in (await writer.say("/invite writer")).text
    assert "needs the analyst role" in (await writer.say("/rename 1 Something")).text


async def test_a_menu_goes_when_staff_are_revoked_elsewhere(api, corpus, staff_store):
    """Revoked by the CLI while the bot runs, or while it is down: the menu goes without the person writing."""
    from bot.staff.menu import sweep_menus

    running, stopped = staff(api, staff_store, "writer"), staff(api, staff_store, "analyst")
    async with running_bot(api, corpus.settings, corpus) as application:
        await running.say("/help")
        await stopped.say("/help")
        assert api.chat_commands[running.chat_id][""] and api.chat_commands[stopped.chat_id][""]
        staff_store.revoke(staff_store.find(running.id).id)  # as `lnob staff revoke` does
        assert await sweep_menus(application) == 1  # what the bot does every MENU_SWEEP_SECONDS
        assert not api.chat_commands[running.chat_id] and api.chat_commands[stopped.chat_id][""]
    staff_store.revoke(staff_store.find(stopped.id).id)  # while the bot is down
    calls = len(api.calls)
    async with running_bot(api, corpus.settings, corpus):
        await api.wait_for(lambda: not api.chat_commands[stopped.chat_id], timeout=30)  # swept at start
        assert sum(1 for method, _ in api.calls[calls:] if method == "deleteMyCommands") == 1
    calls = len(api.calls)
    async with running_bot(api, corpus.settings, corpus):  # and forgotten: nothing is left to take away
        await running.say("/help")
        assert all(method != "deleteMyCommands" for method, _ in api.calls[calls:])


async def test_a_menu_is_set_once_across_restarts(api, corpus, staff_store):
    writer = staff(api, staff_store, "writer")
    for _ in range(2):
        async with running_bot(api, corpus.settings, corpus):
            await writer.say("/themes")
    scoped = [p for m, p in api.calls if m == "setMyCommands" and "chat" in str(p.get("scope"))]
    assert len(scoped) == 1


# -- exploring --------------------------------------------------------------------------------

async def test_themes_are_paged_with_buttons_and_open_into_a_theme_card(api, bot, corpus, staff_store):
    writer = staff(api, staff_store, "writer")
    rows = shown_themes(corpus)  # the order staff see: hidden sizes after the shown ones
    first = await writer.say("/themes")
    pages = (len(rows) + 7) // 8
    assert pages >= 2 and f"page 1 of {pages}" in first.text
    assert f"#{rows[0]['id']} " in first.text and f"#{rows[8]['id']} " not in first.text
    assert "s:tp:1" in first.callback_data and f"s:t:{rows[0]['id']}" in first.callback_data
    second = await writer.toggle("s:tp:1")
    assert second.message_id == first.message_id and "page 2 of" in second.text
    assert f"#{rows[8]['id']} " in second.text and "s:tp:0" in second.callback_data
    back = await writer.toggle("s:tp:0")
    assert "page 1 of" in back.text

    theme = rows[0]
    card = await writer.choose(f"s:t:{theme['id']}")
    assert card.text.startswith(f"#{theme['id']} {theme['label']}")
    for part in ("Keywords:", "Drivers:", "By country:", "By organisation:", "By gender:", "By age band:", "By group:",
                 "Representative quotes"):
        assert part in card.text
    assert card.callback_data == [f"s:q:{theme['id']}", f"s:x:{theme['id']}", f"s:c:{theme['id']}"]
    by_short = records_by_short(corpus)
    shown = quoted_ids(card)
    assert len(shown) == 3 and all(by_short[s].quotable for s in shown)
    cells = breakdowns(theme_members(corpus, theme["id"]))
    line = next(line for line in card.text.splitlines() if line.startswith("By organisation:"))
    for value, count in cells["organisation"].items():  # a shown cell is exact; some are hidden with the small ones
        expected = (str(count.contributions), "≥5") if count.contributors >= 5 else ("<5",)
        assert any(f"{value} {e}" in line for e in expected) or "withheld" in line
    small = [(v, c) for field in cells.values() for v, c in field.items() if 0 < c.contributors < 5]
    assert small, "the demo corpus should have small cells in some breakdown"

    more = await writer.choose(f"s:q:{theme['id']}")
    assert f"Quotes of theme #{theme['id']}" in more.text and len(quoted_ids(more)) > 3
    assert all(by_short[s].quotable for s in quoted_ids(more))
    photo = await writer.choose(f"s:c:{theme['id']}")
    assert "photo" in photo.raw and f"#{theme['id']}" in photo.text
    assert api.files[photo.raw["photo"][-1]["file_id"]].startswith(b"\x89PNG")
    assert "There is no theme 9999" in (await writer.say("/theme 9999")).text


async def test_charts_are_sent_as_photos(api, bot, corpus, staff_store):
    writer = staff(api, staff_store, "writer")
    for command in ("/chart themes", "/chart drivers NP", f"/chart theme {list_themes(corpus)[1]['id']}"):
        photo = await writer.say(command)
        assert "photo" in photo.raw, command
        assert api.files[photo.raw["photo"][-1]["file_id"]][:8] == b"\x89PNG\r\n\x1a\n"
    assert "Write /chart" in (await writer.say("/chart pie")).text
    mine = staff_store.find(writer.id).pseudonym
    await eventually(lambda: len(staff_store.audit_entries(limit=10, action="chart", staff=mine)) == 3)
    assert staff_store.audit_entries(limit=10, action="chart", staff=mine)[-1].params == {"chart": "themes", "country": None}


async def test_search_with_inline_filters(api, bot, corpus, staff_store):
    writer = staff(api, staff_store, "writer")
    by_short = records_by_short(corpus)
    found = await writer.say("/search the clinic is too far away country:KE kind:testimony")
    ids = quoted_ids(found)
    assert ids and "clinic is too far away" in found.text
    for short in ids:
        record = by_short[short]
        assert (record.country, record.kind, record.quotable) == ("KE", "testimony", True)
    assert "s:xs:csv" in found.callback_data
    dated = await writer.say("/search water since:2026-02 until:2026-03 lang:fr")
    for short in quoted_ids(dated):
        record = by_short[short]
        assert record.language == "fr" and "2026-02-01" <= record.created_at.date().isoformat() <= "2026-03-31"
    grouped = await writer.say("/search school driver:socio_economic group:disability org:actionaid")
    for short in quoted_ids(grouped):
        assert "disability" in by_short[short].groups and by_short[short].organisation == "actionaid"
    for bad, reason in (("country:Kenya", "not a two-letter country code"), ("colour:red", "no such filter"),
                        ("since:2026-13", "2026-01"), ("org:nobody", "no organisation"), ("kind:poem", "testimony or proposal"),
                        ("driver:weather", "geography"), ("theme:x", "a number"), ("group:aliens", "profile groups")):
        answer = await writer.say(f"/search water {bad}")
        assert f"cannot use the filter “{bad}”" in answer.text and reason in answer.text, bad
    assert "Write /search" in (await writer.say("/search country:KE")).text
    escaped = await writer.say("/search <b>water</b> & more")
    assert "<b>water</b> & more" in escaped.text  # shown literally: the query was escaped
    entry = staff_store.audit_entries(limit=10, action="search")[-1]
    assert entry.params == {"query": "the clinic is too far away", "country": "KE", "kind": "testimony"}
    assert entry.result_size == len(ids)


async def test_search_shows_relevance_and_how_many_match_when_none_may_be_quoted(api, bot, corpus, staff_store):
    """As ``lnob search`` does: each quote's relevance (0-100, best first), and when the filters leave only
    contributions whose authors allowed aggregate use, how many ("<5" or "≥5") instead of "none"."""
    from analysis.counting import count_of

    writer = staff(api, staff_store, "writer")
    found = await writer.say("/search the clinic is too far away country:KE")
    values = [int(v) for v in re.findall(r" · relevance (\d+)/100$", found.text, re.M)]
    assert len(values) == len(quoted_ids(found)) > 0
    assert values == sorted(values, reverse=True) and all(0 <= v <= 100 for v in values)

    combinations: dict[tuple, list] = {}
    for record in corpus.store.records():
        combinations.setdefault((record.country, record.organisation, record.kind, record.language), []).append(record)
    only_aggregate = [(key, found) for key, found in combinations.items() if not any(r.quotable for r in found)]
    assert only_aggregate, "the demo corpus has no filter combination with aggregate consent only"
    for (country, org, kind, language), records in only_aggregate[:3]:
        answer = await writer.say(f"/search water country:{country} org:{org} kind:{kind} lang:{language}")
        shown = "<5" if count_of(records).is_small(5) else "≥5"
        assert answer.text.startswith(f"{shown} contributions match this search, but none may be quoted"), answer.text
    nothing = await writer.say("/search water country:ZW")
    assert nothing.text == "No quotable contribution matches this search."


async def test_drivers_stats_and_gaps_keep_small_cells_small(api, bot, corpus, staff_store):
    writer = staff(api, staff_store, "writer")
    drivers = await writer.say("/drivers")
    for name in ("Discrimination", "Geography", "Governance", "Shocks"):
        assert name in drivers.text
    stats = await writer.say("/stats")
    assert f"{corpus.store.count_testimonies()} contributions" in stats.text and "aggregate" in stats.text
    gaps = compute_gaps(corpus)
    shown = (await writer.say("/gaps")).text
    assert "Gaps: all countries" in shown and "cells under 5 contributors show as <5" in shown
    by_group = next(line for line in shown.splitlines() if line.startswith("By group:"))
    labels = {"disability": "Person with a disability", "youth": "Young person", "lgbtqi": "LGBTQI+",
              "older_person": "Older person", "indigenous": "Indigenous people", "migrant": "Migrant"}
    for group, count in gaps.by_group.items():
        if group in labels:
            expected = ("0",) if not count.contributions else (
                (str(count.contributions), "≥5") if count.contributors >= 5 else ("<5",))
            assert any(f"{labels[group]} {e}" in by_group for e in expected) or "withheld" in by_group, group
    assert by_group.count("<5") != 1 or "≥5" in by_group  # a lone small cell is never left to the total's arithmetic
    for line in shown.splitlines():
        for number in re.findall(r"(?<![#\w<-])(\d+)(?![\w-])", line.split(":", 1)[-1]):
            assert int(number) == 0 or int(number) >= 5 or line.startswith("Gaps"), line
    assert "Themes several partners speak to" in shown and "Themes only one partner speaks to" in shown
    for overlap in gaps.overlaps[:3]:
        assert f"#{overlap.theme_id} {overlap.label}" in shown
    country = await writer.say("/gaps NP")
    assert "Gaps: NP" in country.text and "By region:" in country.text
    assert "Write /gaps" in (await writer.say("/gaps Nepal")).text


# -- exports and reports ----------------------------------------------------------------------

def _check_quotes_file(corpus, text: str) -> None:
    by_id = {r.id: r for r in corpus.store.records()}
    for digits in PHONE_DIGITS:
        assert digits not in text
    for record in by_id.values():
        if not record.quotable and len(record.text) > 40:
            assert record.text not in text


async def test_exports_are_documents_of_consented_redacted_quotes_with_provenance(api, bot, corpus, staff_store, tmp_path):
    writer = staff(api, staff_store, "writer")
    phone = phone_record(corpus)
    theme_id = corpus.themes.assignments([phone.id])[phone.id].theme_id
    csv_doc = await writer.say(f"/export {theme_id} csv")
    assert csv_doc.document["file_name"].endswith(".csv") and "consented, redacted" in csv_doc.text
    content = document_bytes(api, csv_doc).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert rows and list(rows[0]) == ["testimony_id", "date", "country", "organisation", "kind", "language", "theme",
                                      "drivers", "text"]
    by_id = {r.id: r for r in corpus.store.records()}
    for row in rows:
        record = by_id[row["testimony_id"]]
        assert record.quotable and row["text"] == record.text
        assert row["country"] == (record.country or "") and row["date"] == record.created_at.date().isoformat()
        assert row["theme"].startswith(f"{theme_id}: ")
    _check_quotes_file(corpus, content)
    if any(r["testimony_id"] == phone.id for r in rows):
        assert "[PHONE]" in content

    await writer.say(f"/theme {theme_id}")
    choose = await writer.choose(f"s:x:{theme_id}")
    assert choose.callback_data == [f"s:xf:{theme_id}:{fmt}" for fmt in ("csv", "md", "docx")]
    docx_doc = await writer.choose(f"s:xf:{theme_id}:docx")
    text = file_text(as_file(tmp_path, docx_doc, document_bytes(api, docx_doc)))
    assert f"testimony {rows[0]['testimony_id']}" in text
    _check_quotes_file(corpus, text)

    await writer.say("/search clinic far away country:KE")
    md_doc = await writer.choose("s:xs:md")
    markdown = document_bytes(api, md_doc).decode("utf-8")
    assert markdown.startswith("# Search: clinic far away") and " · KE · " in markdown
    _check_quotes_file(corpus, markdown)
    typed = await writer.say("/export search clinic far away country:KE format:docx")
    assert typed.document["file_name"].endswith(".docx")
    mine = staff_store.find(writer.id).pseudonym

    def exports():
        return [e for e in staff_store.audit_entries(limit=50, staff=mine) if e.action.startswith("export.")]

    await eventually(lambda: len(exports()) == 4)
    assert all(e.result_size for e in exports())


async def test_a_country_report_is_generated_with_its_sections(api, bot, corpus, staff_store):
    writer = staff(api, staff_store, "writer")
    assert "Writing the report for NP" in (await writer.say("/report NP md")).text
    report = await writer.next_reply(timeout=120)
    assert report.document["file_name"].endswith(".zip")  # the Markdown and the charts it links to
    with zipfile.ZipFile(io.BytesIO(document_bytes(api, report))) as archive:
        names = archive.namelist()
        (md_name,) = [n for n in names if n.endswith(".md")]
        markdown = archive.read(md_name).decode("utf-8")
        charts = [n for n in names if n.endswith(".png")]
        assert len(charts) >= 3 and all(archive.read(n)[:8] == b"\x89PNG\r\n\x1a\n" for n in charts)
    assert sorted(re.findall(r"\]\(([^)#]+\.png)\)", markdown)) == sorted(charts)
    assert markdown.startswith("# Leave No One Behind: evidence report for Nepal")
    for section in ("Key findings", "What communities propose", "Who spoke", "Charts", "Gaps",
                    "Annex: method and data protection"):
        assert f"\n## {section}\n" in markdown and section in report.text
    for subsection in ("The largest gaps", "Overlaps between partners", "Where only one partner speaks"):
        assert f"\n### {subsection}\n" in markdown
    _check_quotes_file(corpus, markdown)
    assert "Write /report" in (await writer.say("/report Nepal")).text
    assert "Write /report" in (await writer.say("/report NP html pt")).text  # no report in Portuguese
    await writer.say("/report NP html")
    page = await writer.next_reply(timeout=120)
    assert page.document["file_name"].endswith(".html")
    html = document_bytes(api, page).decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.count('<img src="data:image/png;base64,') == len(charts)
    assert '<nav class="toc">' in html and '<h2 id="key-findings">Key findings</h2>' in html
    entries = staff_store.audit_entries(limit=5, action="report")
    assert [e.params["format"] for e in entries] == ["html", "md"]
    assert all(e.params["country"] == "NP" and e.params["language"] == "en" and e.result_size > 0 for e in entries)


async def test_a_report_comes_in_the_staff_members_language_or_the_one_asked_for(api, bot, corpus, staff_store):
    french = staff(api, staff_store, "writer", language_code="fr-FR")
    assert "J'écris le rapport pour SN" in (await french.say("/report SN html")).text  # the chat's language
    page = document_bytes(api, await french.next_reply(timeout=120)).decode("utf-8")
    assert '<html lang="fr">' in page and '<h2 id="key-findings">Principales conclusions</h2>' in page
    assert "Ne laisser personne de côté : rapport de données probantes – Sénégal" in page
    assert "J'écris le rapport pour SN" in (await french.say("/report SN es html")).text
    # a language named in the command wins (before or after the format)
    page = document_bytes(api, await french.next_reply(timeout=120)).decode("utf-8")
    assert '<html lang="es">' in page and '<h2 id="key-findings">Conclusiones principales</h2>' in page
    entries = staff_store.audit_entries(limit=2, action="report", staff=staff_store.find(french.id).pseudonym)
    assert [e.params["language"] for e in entries] == ["es", "fr"]


async def test_a_report_for_a_country_without_contributions_names_those_with_data(api, bot, corpus, staff_store):
    writer = staff(api, staff_store, "writer")
    with_data = "BD, GT, KE, NP, SN, VN"
    answer = await writer.say("/report FR docx")
    assert answer.text == f"There are no contributions from FR, so no report was written. Countries with data: {with_data}."
    assert "Countries with data: " + with_data in (await writer.say("/report ZZ")).text
    assert staff_store.audit_entries(limit=5, action="report", staff=staff_store.find(writer.id).pseudonym) == []


async def test_the_theme_explorer_comes_as_one_html_file_and_is_audited(api, bot, corpus, staff_store):
    writer = staff(api, staff_store, "writer")
    assert "Making the theme explorer" in (await writer.say("/explore")).text
    sent = await writer.next_reply(timeout=120)
    assert sent.document["file_name"].startswith("explorer-") and sent.document["file_name"].endswith(".html")
    page = document_bytes(api, sent).decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'id="explorer-data"' in page
    quotable = [r for r in corpus.store.records() if r.quotable]
    assert f"Theme explorer: {len(quotable)} quotable contribution" in sent.text
    _check_quotes_file(corpus, page)
    (entry,) = staff_store.audit_entries(limit=5, action="explore")
    assert entry.result_size == len(quotable) and entry.params["export"]
    await writer.say("/help")  # the contributor help first, then the staff commands of the role
    assert "/explore: The theme explorer" in (await writer.next_reply()).text


# -- curation ---------------------------------------------------------------------------------

async def test_curation_survives_recluster_and_the_bot_answers_meanwhile(api, bot, corpus, staff_store):
    analyst = staff(api, staff_store, "analyst", org="cbm")
    rows = list_themes(corpus)
    target, other, renamed = rows[0]["id"], rows[-1]["id"], rows[1]["id"]
    members = [r for r in theme_members(corpus, renamed) if r.quotable]
    pinned, hidden = members[-1], members[0]
    renaming = await analyst.say(f"/rename {renamed} Distance to the clinic <b>")
    assert "is now called “Distance to the clinic <b>”" in renaming.text  # escaped, so shown literally
    assert corpus.themes.theme(renamed).label == "Distance to the clinic <b>"
    assert "pinned first" in (await analyst.say(f"/pin {renamed} {pinned.id[:8]}")).text
    assert "never be quoted again" in (await analyst.say(f"/hide {hidden.id[:8]} names a village")).text
    merged = await analyst.say(f"/merge {target} {other}")
    assert f"#{other} is merged into #{target}" in merged.text
    assert "did not work" in (await analyst.say(f"/merge {target} {target}")).text
    divided = await analyst.say(f"/split {rows[2]['id']}")
    new_theme = int(re.search(r"new theme #(\d+)", divided.text).group(1))
    found = await analyst.say(f"/search {hidden.text[:60]}")
    assert hidden.id[:8] not in quoted_ids(found)

    progress = await analyst.say("/recluster")
    assert "Re-analysis started" in progress.text
    contributor = user(api)
    assert "/share" in (await contributor.say("/help")).text  # answered while the analysis runs
    assert "analysis is running" in (await analyst.say(f"/rename {renamed} Too soon")).text
    await wait_for_text(api, progress, "Re-analysis done", ANALYSIS_TIMEOUT)
    assert progress.raw.get("edit_date") and "themes over" in progress.raw["text"]

    assert corpus.themes.theme(renamed).label == "Distance to the clinic <b>"
    assert corpus.themes.theme(other).status == "merged"
    assert corpus.themes.theme(new_theme).status == "active" and corpus.themes.theme(rows[2]["id"]).status == "active"
    quotes = await analyst.say(f"/quotes {renamed}")
    shown = quoted_ids(quotes)
    assert shown[0] == pinned.id[:8] and hidden.id[:8] not in shown
    card = await analyst.say(f"/theme {renamed}")
    assert card.text.startswith(f"#{renamed} Distance to the clinic <b>")
    actions = {e.action for e in staff_store.audit_entries(limit=50)}
    assert {"curate.rename", "curate.pin", "curate.hide", "curate.merge", "curate.split", "recluster.start", "recluster"} <= actions


async def test_admins_read_the_audit_log(api, bot, corpus, staff_store):
    admin = staff(api, staff_store, "admin")
    writer = staff(api, staff_store, "writer")
    await writer.say("/themes")
    log = await admin.say("/audit 5")
    pseudonym = staff_store.find(writer.id).pseudonym
    assert "Audit log" in log.text and f"{pseudonym[:8]} themes page=1" in log.text
    assert "needs the admin role" in (await writer.say("/audit")).text
    contributor_help, staff_help = await writer.say("/help"), await writer.next_reply()
    assert "/share" in contributor_help.text and "Staff commands (your role: writer)" in staff_help.text
    assert "/search" in staff_help.text and "/recluster" not in staff_help.text
    newest = staff_store.audit_entries(limit=1)[0]
    assert (newest.action, newest.staff) == ("audit.read", staff_store.find(admin.id).pseudonym)
    assert all(len(e.staff) == 64 and not e.staff.isdigit() for e in staff_store.audit_entries(limit=100))


async def test_inline_filters_are_parsed_and_a_bad_one_is_named():
    from datetime import datetime, timezone

    from bot.staff.search import FilterError, parse_search

    drivers = ("discrimination", "geography", "governance", "socio_economic", "shocks")
    parsed = parse_search("clinic Notes: far country:np since:2026-02 until:2026-02 theme:#3 driver:socio-economic "
                          "org:Plan group:disability lang:FR kind:proposal", drivers, {"plan"})
    assert parsed.query == "clinic Notes: far"
    where = parsed.where
    assert (where.country, where.theme, where.driver, where.organisation, where.group, where.language, where.kind) == (
        "NP", 3, "socio_economic", "plan", "disability", "fr", "proposal")
    assert where.since == datetime(2026, 2, 1, tzinfo=timezone.utc)
    assert where.until == datetime(2026, 2, 28, tzinfo=timezone.utc)
    for bad, reason in (("country:", "filter_empty"), ("colour:red", "filter_unknown"), ("until:2026-02-30", "filter_bad_date")):
        with pytest.raises(FilterError) as caught:
            parse_search(f"water {bad}", drivers, {"plan"})
        assert caught.value.reason == reason
