"""Staff of the partner organisations: roles, one-time invites, and the audit log.

Staff are known, like contributors, only by a keyed pseudonym of their
Telegram id. Roles nest: a ``writer`` reads and exports, an ``analyst`` also
curates and re-analyses, an ``admin`` also manages staff and reads the audit.
Every staff query, export and curation is written to the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from sqlalchemy import JSON, Column
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from corpus.db import session_scope
from corpus.errors import CorpusError, NotFound
from corpus.models import Organisation, utcnow
from corpus.pseudonyms import derived_key, pseudonym
from corpus.vocabulary import STAFF_ROLES as ROLES


def role_allows(role: str, needed: str) -> bool:
    """Whether ``role`` includes the rights of ``needed`` (writer < analyst < admin)."""
    return ROLES.index(role) >= ROLES.index(needed)


class StaffMember(SQLModel, table=True):
    """A member of staff: pseudonym, role and organisation; revoked staff keep their row for the audit."""

    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    pseudonym: str = Field(max_length=64, unique=True, index=True)
    role: str = Field(max_length=16)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    added_at: datetime = Field(default_factory=utcnow)
    added_by: str | None = Field(default=None, max_length=64)
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Invite(SQLModel, table=True):
    """A one-time, expiring invite code (only its keyed hash is stored)."""

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True, index=True)
    role: str = Field(max_length=16)
    organisation_id: int = Field(foreign_key="organisation.id")
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    used_by: str | None = Field(default=None, max_length=64)


class AuditEntry(SQLModel, table=True):
    """One staff action: who (pseudonym), what, with which parameters, how many results, when."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    staff: str = Field(max_length=64, index=True)
    action: str = Field(max_length=64, index=True)
    params: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result_size: int | None = None


class StaffError(CorpusError):
    """A staff operation that cannot be done (bad role, expired invite...)."""


def _hash_code(code: str, key: bytes) -> str:
    """The stored form of an invite code: an HMAC under a key derived from the deployment's secret.

    A code has only 48 bits; an unkeyed hash of it could be reversed offline
    from a copy of the database within the code's 72 hours. Invites created
    before codes were keyed (a plain SHA-256) no longer match: an admin issues
    new ones.
    """
    return hmac.new(derived_key(key, "invite-code"), code.strip().upper().encode(), hashlib.sha256).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class StaffStore:
    """Reads and writes staff, invites and the audit log."""

    def __init__(self, engine: Engine, key: bytes) -> None:
        self.engine = engine
        self.key = key

    def pseudonym_for(self, telegram_id: int | str) -> str:
        """The staff pseudonym of a Telegram id."""
        return pseudonym(telegram_id, self.key, "telegram")

    def _organisation(self, session: Session, code: str) -> Organisation:
        organisation = session.exec(select(Organisation).where(Organisation.code == code.strip().lower())).first()
        if organisation is None:
            raise NotFound(f"no organisation with code {code!r}: create it with `lnob org add NAME --code {code}`")
        return organisation

    @staticmethod
    def _check_role(role: str) -> str:
        role = role.strip().lower()
        if role not in ROLES:
            raise StaffError(f"role {role!r} is not one of: {', '.join(ROLES)}")
        return role

    def add(self, telegram_id: int | str, role: str, organisation: str, added_by: str | None = None) -> StaffMember:
        """Make a Telegram user staff (or change the role of an existing one)."""
        role = self._check_role(role)
        alias = self.pseudonym_for(telegram_id)
        with session_scope(self.engine) as session:
            org = self._organisation(session, organisation)
            member = session.exec(select(StaffMember).where(StaffMember.pseudonym == alias)).first()
            if member is None:
                member = StaffMember(pseudonym=alias, role=role, organisation_id=org.id, added_by=added_by)
            else:
                member.role, member.organisation_id, member.revoked_at = role, org.id, None
            session.add(member)
            session.flush()
            session.refresh(member)
            return member

    def find(self, telegram_id: int | str) -> StaffMember | None:
        """The active staff member with this Telegram id, or None."""
        alias = self.pseudonym_for(telegram_id)
        with Session(self.engine) as session:
            member = session.exec(select(StaffMember).where(StaffMember.pseudonym == alias)).first()
        return member if member is not None and member.active else None

    def active_among(self, pseudonyms: Iterable[str]) -> set[str]:
        """Which of ``pseudonyms`` belong to active staff."""
        wanted = list(pseudonyms)
        if not wanted:
            return set()
        with Session(self.engine) as session:
            rows = session.exec(
                select(StaffMember.pseudonym).where(StaffMember.pseudonym.in_(wanted), StaffMember.revoked_at.is_(None))
            )
            return set(rows)

    def members(self, include_revoked: bool = False) -> list[tuple[StaffMember, str]]:
        """Staff with their organisation code, oldest first."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(StaffMember, Organisation.code)
                .join(Organisation, Organisation.id == StaffMember.organisation_id)
                .order_by(StaffMember.id)
            )
            return [(m, code) for m, code in rows if include_revoked or m.active]

    def revoke(self, staff_id: int) -> StaffMember:
        """Remove a member of staff (the row stays, revoked, for the audit)."""
        with session_scope(self.engine) as session:
            member = session.get(StaffMember, staff_id)
            if member is None or not member.active:
                raise NotFound(f"no active staff member {staff_id}: list them with `lnob staff list`")
            member.revoked_at = utcnow()
            session.add(member)
            return member

    def invite(self, role: str, organisation: str, created_by: str | None = None, hours: int = 72) -> str:
        """A new one-time invite code for ``role`` in ``organisation``, valid for ``hours``."""
        role = self._check_role(role)
        code = "-".join(secrets.token_hex(2).upper() for _ in range(3))
        with session_scope(self.engine) as session:
            org = self._organisation(session, organisation)
            session.add(
                Invite(
                    code_hash=_hash_code(code, self.key),
                    role=role,
                    organisation_id=org.id,
                    created_by=created_by,
                    expires_at=utcnow() + timedelta(hours=hours),
                )
            )
        return code

    def redeem(self, code: str, telegram_id: int | str) -> StaffMember:
        """Use an invite code: the Telegram user becomes staff; the code cannot be used again."""
        alias = self.pseudonym_for(telegram_id)
        with session_scope(self.engine) as session:
            invite = session.exec(select(Invite).where(Invite.code_hash == _hash_code(code, self.key))).first()
            if invite is None or invite.used_at is not None:
                raise StaffError("this invite code is not valid (or was already used): ask an admin for a new one")
            if _aware(invite.expires_at) < utcnow():
                raise StaffError("this invite code has expired: ask an admin for a new one")
            invite.used_at, invite.used_by = utcnow(), alias
            session.add(invite)
            member = session.exec(select(StaffMember).where(StaffMember.pseudonym == alias)).first()
            if member is None:
                member = StaffMember(pseudonym=alias, role=invite.role, organisation_id=invite.organisation_id)
            else:
                member.role, member.organisation_id, member.revoked_at = invite.role, invite.organisation_id, None
            member.added_by = invite.created_by
            session.add(member)
            session.flush()
            session.refresh(member)
            return member

    def audit(self, staff: str, action: str, params: dict | None = None, result_size: int | None = None) -> None:
        """Record one staff action."""
        with session_scope(self.engine) as session:
            session.add(AuditEntry(staff=staff, action=action, params=dict(params or {}), result_size=result_size))

    def audit_entries(self, limit: int = 50, staff: str | None = None, action: str | None = None) -> list[AuditEntry]:
        """The newest audit entries first, optionally for one staff pseudonym or action."""
        with Session(self.engine) as session:
            statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
            if staff:
                statement = statement.where(AuditEntry.staff == staff)
            if action:
                statement = statement.where(AuditEntry.action == action)
            return list(session.exec(statement))
