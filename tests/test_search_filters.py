"""Search filters as people type them: dates as periods (``--until 2026-03`` is the whole of March) read by one
function for the CLI and the bot, and a bad country, driver, organisation or group is an error, not "no quotes".
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus.errors import InvalidText
from corpus.validation import parse_date_bound

DRIVERS = ("discrimination", "geography", "governance", "socio_economic", "shocks")
DATED = {  # created_at day -> text
    "2025-12-31": "The clinic is far away and the road floods in December.",
    "2026-02-10": "The clinic is far away and there is no bus in February.",
    "2026-03-01": "The clinic is far away, we walked on the first of March.",
    "2026-03-15": "The clinic is far away and the nurse left in March.",
    "2026-03-31": "The clinic is far away; the last day of March was the worst.",
    "2026-04-01": "The clinic is far away and in April the bridge broke.",
}


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "since", "until"),
    [
        ("2026-03", utc(2026, 3, 1), utc(2026, 3, 31)),
        ("2026-02", utc(2026, 2, 1), utc(2026, 2, 28)),
        ("2024-02", utc(2024, 2, 1), utc(2024, 2, 29)),
        ("2026-04", utc(2026, 4, 1), utc(2026, 4, 30)),
        ("2026", utc(2026, 1, 1), utc(2026, 12, 31)),
        ("2026-03-15", utc(2026, 3, 15), utc(2026, 3, 15)),
        (" 2026-3 ", utc(2026, 3, 1), utc(2026, 3, 31)),
    ],
)
def test_a_month_or_year_is_a_period(value: str, since: datetime, until: datetime) -> None:
    assert parse_date_bound(value) == since
    assert parse_date_bound(value, end=True) == until


@pytest.mark.parametrize("value", ["2026-13", "2026-02-30", "March", "26-03", "2026/03", "2026-03-15T10:00"])
def test_a_date_that_is_no_day_month_or_year_is_refused(value: str) -> None:
    with pytest.raises(InvalidText, match="is not a day, month or year"):
        parse_date_bound(value, end=True)
    assert parse_date_bound(None) is None and parse_date_bound(" ") is None


def test_the_bot_reads_dates_and_countries_as_the_cli_does() -> None:
    from bot.staff.search import FilterError, parse_search

    where = parse_search("water since:2026 until:2026-03", DRIVERS).where
    assert (where.since, where.until) == (utc(2026, 1, 1), utc(2026, 3, 31))
    assert parse_search("water until:2025", DRIVERS).where.until == utc(2025, 12, 31)
    assert parse_search("water country:np", DRIVERS).where.country == "NP"
    for bad, reason in (("country:XX", "filter_bad_country"), ("until:2026-13", "filter_bad_date")):
        with pytest.raises(FilterError) as caught:
            parse_search(f"water {bad}", DRIVERS)
        assert caught.value.reason == reason


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A migrated data dir with one organisation and a quotable testimony on each day of ``DATED``, indexed."""
    from corpus.db import make_engine, upgrade
    from corpus.settings import Settings
    from corpus.store import TestimonyDraft

    from analysis.evidence import EvidenceBase

    folder = tmp_path_factory.mktemp("filters") / "data"
    settings = Settings(data_dir=folder, database_url=None, chroma_url=None, _env_file=None)
    upgrade(make_engine(settings.resolved_database_url))
    evidence = EvidenceBase(settings)
    evidence.store.add_organisation("plan", "Plan International")
    for n, (day, text) in enumerate(DATED.items()):
        evidence.ingest(TestimonyDraft(
            text=text, language="en", country="KE", organisation="plan", consent_level="quote", source="import",
            source_ref=f"dated-{n}", contributor_ref=f"person-{n}",
            created_at=datetime.fromisoformat(day).replace(hour=12, tzinfo=timezone.utc)))
    return folder


def lnob(data_dir: Path, *args: str):
    return CliRunner().invoke(__import__("cli.main", fromlist=["cli"]).cli, ["--data-dir", str(data_dir), *args],
                              env={"LNOB_DATABASE_URL": None, "LNOB_CHROMA_URL": None})


def found_days(data_dir: Path, *options: str) -> list[str]:
    result = lnob(data_dir, "search", "the clinic is far away", "--limit", "50", "--json", *options)
    assert result.exit_code == 0, result.output
    return sorted(r["date"] for r in json.loads(result.output)["results"])


def test_until_a_month_takes_in_the_whole_month(data_dir: Path) -> None:
    assert found_days(data_dir) == sorted(DATED)
    assert found_days(data_dir, "--until", "2026-03") == ["2025-12-31", "2026-02-10", "2026-03-01", "2026-03-15",
                                                          "2026-03-31"]
    assert found_days(data_dir, "--since", "2026-03", "--until", "2026-03") == ["2026-03-01", "2026-03-15",
                                                                               "2026-03-31"]
    assert found_days(data_dir, "--since", "2026-03-15", "--until", "2026-03-31") == ["2026-03-15", "2026-03-31"]
    assert found_days(data_dir, "--until", "2025") == ["2025-12-31"]
    assert found_days(data_dir, "--since", "2026") == sorted(DATED)[1:]


def test_export_search_reads_dates_the_same_way(data_dir: Path) -> None:
    result = lnob(data_dir, "export", "search", "the clinic is far away", "--until", "2026-03", "--since", "2026-03",
                  "--format", "md", "--json")
    assert result.exit_code == 0, result.output
    export = json.loads(result.output)
    assert export["quotes"] == 3
    assert "since:2026-03-01 until:2026-03-31" in Path(export["path"]).read_text(encoding="utf-8-sig")


def one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_a_bad_country_is_the_error_report_gives(data_dir: Path) -> None:
    reported = one_error_line(lnob(data_dir, "report", "--country", "XX"))
    assert reported == "error: country 'XX' is not a two-letter ISO 3166 code such as NP or KE"
    assert one_error_line(lnob(data_dir, "search", "clinic", "--country", "XX")) == reported
    assert one_error_line(lnob(data_dir, "export", "search", "clinic", "--country", "XX")) == reported
    assert found_days(data_dir, "--country", "ke") == sorted(DATED)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--driver", "weather", "driver 'weather' is not one of: discrimination, geography, governance"),
        ("--org", "nobody", "organisation 'nobody' is not one of: plan"),
        ("--group", "aliens", "group 'aliens' is not one of: disability,"),
        ("--language", "english!", "language 'english!' is not a language code"),
        ("--until", "2026-13", "date '2026-13' is not a day, month or year"),
        ("--since", "March", "date 'March' is not a day, month or year"),
    ],
)
def test_other_unknown_filters_are_errors_too(data_dir: Path, option: str, value: str, message: str) -> None:
    assert message in one_error_line(lnob(data_dir, "search", "clinic", option, value))


def test_known_drivers_and_groups_still_filter(data_dir: Path) -> None:
    assert found_days(data_dir, "--driver", "Geography", "--group", "disability") == []
    assert found_days(data_dir, "--org", "PLAN", "--language", "en") == sorted(DATED)
