"""Staff roles, one-time invites, revocation and the audit log (store and CLI)."""

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from cli.main import cli
from corpus.errors import NotFound
from corpus.staff import Invite, StaffError, StaffStore, role_allows


@pytest.fixture
def store(migrated_settings):
    from corpus.store import CorpusStore

    corpus = CorpusStore(migrated_settings)
    corpus.add_organisation("plan", "Plan International")
    return StaffStore(corpus.engine, migrated_settings.resolved_pseudonym_key)


def test_roles_nest():
    assert role_allows("admin", "analyst") and role_allows("analyst", "writer")
    assert not role_allows("writer", "analyst") and not role_allows("analyst", "admin")


def test_add_find_revoke(store):
    member = store.add(4242, "admin", "plan")
    assert store.find(4242).id == member.id
    assert "4242" not in member.pseudonym
    assert store.find(999) is None
    store.revoke(member.id)
    assert store.find(4242) is None
    with pytest.raises(NotFound):
        store.revoke(member.id)


def test_unknown_role_and_organisation_are_clear_errors(store):
    with pytest.raises(StaffError, match="role 'boss'"):
        store.add(1, "boss", "plan")
    with pytest.raises(NotFound, match="no organisation"):
        store.add(1, "writer", "nope")


def test_invite_is_one_time(store):
    code = store.invite("analyst", "plan", created_by="admin")
    member = store.redeem(code.lower(), 777)
    assert member.role == "analyst" and store.find(777)
    with pytest.raises(StaffError, match="not valid"):
        store.redeem(code, 778)


def test_invite_expires(store):
    code = store.invite("writer", "plan", hours=1)
    with Session(store.engine) as session:
        invite = session.exec(select(Invite)).one()
        invite.expires_at = invite.expires_at - timedelta(hours=2)
        session.add(invite)
        session.commit()
    with pytest.raises(StaffError, match="expired"):
        store.redeem(code, 5)


def test_audit_entries(store):
    store.audit("abc", "search", {"q": "water"}, 7)
    store.audit("abc", "export", {"theme": 1}, 3)
    entries = store.audit_entries()
    assert [e.action for e in entries] == ["export", "search"]
    assert entries[1].params == {"q": "water"} and entries[1].result_size == 7
    assert [e.action for e in store.audit_entries(action="search")] == ["search"]


def test_cli_staff_add_invite_list_audit(migrated_settings):
    runner = CliRunner()
    base = ["--data-dir", str(migrated_settings.data_dir)]
    env = {"LNOB_PSEUDONYM_KEY": "test-key-0123456789abcdef0123456789"}
    assert runner.invoke(cli, base + ["org", "add", "Plan", "--code", "plan"], env=env).exit_code == 0
    added = runner.invoke(cli, base + ["staff", "add", "--telegram-id", "12", "--role", "admin", "--org", "plan", "--json"], env=env)
    assert added.exit_code == 0, added.output
    invite = json.loads(runner.invoke(cli, base + ["staff", "invite", "--role", "writer", "--org", "plan", "--json"], env=env).output)
    assert invite["role"] == "writer" and len(invite["code"]) == 14
    listed = json.loads(runner.invoke(cli, base + ["staff", "list", "--json"], env=env).output)
    assert [s["role"] for s in listed["staff"]] == ["admin"]
    assert all(12 not in s.values() and "12" not in s.values() for s in listed["staff"])
    log = json.loads(runner.invoke(cli, base + ["audit", "--json"], env=env).output)
    assert [e["action"] for e in log["entries"]] == ["staff.invite", "staff.add"]
