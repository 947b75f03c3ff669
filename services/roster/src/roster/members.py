"""Registering organisations and members (one by one, or a CSV file row by row), and reading them. One transaction
per call; a refusal (``pingan_shared.refused``) is the caller's answer."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import asyncpg
from pydantic import ValidationError

from pingan_shared.directory import store as directory
from pingan_shared.directory.doors import place_code
from pingan_shared.events.directory_contracts import EntryKind
from pingan_shared.imports import ImportReport, rejected, validation_errors
from pingan_shared.refused import Conflict, NotFound
from pingan_shared.text import echoable
from roster.context import RosterContext
from roster.domain.members import MemberIn, OrganisationIn, OrgKind, member_from_row, read_member_csv
from roster.store import members as store

NO_SUCH_ORG = "没有该组织 (no such organisation)"
NO_SUCH_MEMBER = "没有该队员 (no such member)"


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"
    UPDATED = "updated"
    CONFLICT = "conflict"
    UNKNOWN_ORG = "unknown_org"
    APP_ID_TAKEN = "app_id_taken"
    NOT_FOUND = "not_found"


# The directory's organisations whose people stand duty, as roster's kinds of organisation.
DIRECTORY_KINDS: dict[EntryKind, OrgKind] = {
    EntryKind.PATROL_TEAM: OrgKind.VILLAGE_PATROL_TEAM, EntryKind.COMPANY: OrgKind.SECURITY_COMPANY,
    EntryKind.MILITIA: OrgKind.MILITIA_UNIT, EntryKind.POLICE_STATION: OrgKind.POLICE_STATION,
}


async def _placed(conn: asyncpg.Connection, org: OrganisationIn) -> OrganisationIn:
    """The organisation with its ``area`` as the directory place's code (a code or a unique name; else a 422
    naming body.area), as duties keep theirs."""
    return org.model_copy(update={"area": await place_code(conn, org.area, field="body.area")})


async def org_from_directory(conn: asyncpg.Connection, org_id: str, now: datetime) -> bool:
    """A member may name an organisation of the directory roster has not registered as one of its own: it is
    registered from the directory's entry (its name, its kind, the place it serves). False: the directory holds no
    such organisation whose people stand duty (a government or a department is not one)."""
    entry = await directory.get(conn, org_id)
    if entry is None or entry.retired or entry.kind not in DIRECTORY_KINDS:
        return False
    await store.insert_org(conn, OrganisationIn(org_id=entry.code, name=entry.name, kind=DIRECTORY_KINDS[entry.kind],
                                                area=entry.parent), now)
    return True


async def register_org(conn: asyncpg.Connection, org: OrganisationIn, now: datetime
                       ) -> tuple[Outcome, OrganisationIn]:
    """CREATED, or UNCHANGED for the same organisation again (its area by name or code), with the organisation as
    stored; another with this id is refused."""
    org = await _placed(conn, org)
    if await store.insert_org(conn, org, now):
        return Outcome.CREATED, org
    existing = await store.get_org(conn, org.org_id)
    if existing is not None and OrganisationIn(**dict(existing)) == org:
        return Outcome.UNCHANGED, org
    raise Conflict("该编号已用于内容不同的组织 (a different organisation has this id)", "org_id")


async def replace_org(conn: asyncpg.Connection, org_id: str, org: OrganisationIn) -> OrganisationIn:
    """Rename or re-classify an organisation (its id stays: members name it); the organisation as stored."""
    if await store.get_org(conn, org_id) is None:
        raise NotFound(NO_SUCH_ORG)
    if org.org_id != org_id:
        raise Conflict("路径与请求体的组织编号不一致 (org_id differs from the path)", "body.org_id")
    org = await _placed(conn, org)
    await store.update_org(conn, org)
    return org


async def get_org(ctx: RosterContext, org_id: str) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        row = await store.get_org(conn, org_id)
    if row is None:
        raise NotFound(NO_SUCH_ORG)
    return dict(row)


async def list_orgs(ctx: RosterContext, *, kind: str | None, after: str | None, limit: int) -> list[dict[str, Any]]:
    async with ctx.runtime.connection() as conn:
        return [dict(r) for r in await store.list_orgs(conn, kind=kind, after=after, limit=limit)]


async def _stored(conn: asyncpg.Connection, member_id: str) -> MemberIn | None:
    row = await store.get_member(conn, member_id)
    if row is None:
        return None
    absent = await store.get_unavailability(conn, [member_id])
    values = dict(row) | {"skills": list(row["skills"]),
                          "unavailability": [{"from_day": u["from_day"], "days": (u["to_day"] - u["from_day"]).days + 1,
                                             "reason": u["reason"]} for u in absent]}
    return MemberIn.model_validate(values)


def _same(a: MemberIn, b: MemberIn) -> bool:
    def norm(m: MemberIn) -> MemberIn:
        return m.model_copy(update={"skills": sorted(set(m.skills))})

    return norm(a) == norm(b)


async def _register(conn: asyncpg.Connection, member: MemberIn, now: datetime, *, replace: bool) -> Outcome:
    """Create ``member`` (``replace`` False: the same again is harmless, other content a conflict) or replace
    the stored one (``replace`` True: it must exist). Call inside a transaction."""
    await store.lock_member_id(conn, member.member_id)
    existing = await _stored(conn, member.member_id)
    if replace and existing is None:
        return Outcome.NOT_FOUND
    if not replace and existing is not None:
        return Outcome.UNCHANGED if _same(existing, member) else Outcome.CONFLICT
    if await store.get_org(conn, member.org_id) is None and not await org_from_directory(conn, member.org_id, now):
        return Outcome.UNKNOWN_ORG
    if await store.app_id_taken(conn, member):
        return Outcome.APP_ID_TAKEN
    await store.upsert_member(conn, member, now)
    return Outcome.UPDATED if existing is not None else Outcome.CREATED


# Why a member is not registered: (the field at fault, the reason) — a 409 on its own, a rejected row in an import.
REFUSALS = {
    Outcome.CONFLICT: ("member_id", "该编号已用于内容不同的队员 (a different member has this id)"),
    Outcome.UNKNOWN_ORG: ("org_id", "所属组织不存在 (no such organisation)"),
    Outcome.APP_ID_TAKEN: ("app_member_id",
                           "该巡逻队已有队员使用此应用编号 (another member of this team has this app id)"),
}


def _refuse(outcome: Outcome) -> Outcome:
    if outcome is Outcome.NOT_FOUND:
        raise NotFound(NO_SUCH_MEMBER)
    if outcome in REFUSALS:
        field, reason = REFUSALS[outcome]
        raise Conflict(reason, f"body.{field}")
    return outcome


async def register_member(conn: asyncpg.Connection, member: MemberIn, now: datetime) -> Outcome:
    """CREATED, or UNCHANGED for the same member again; a refusal otherwise. Call inside a transaction."""
    return _refuse(await _register(conn, member, now, replace=False))


async def replace_member(conn: asyncpg.Connection, member_id: str, member: MemberIn, now: datetime) -> None:
    """Replace a stored member whole (its id stays). Call inside a transaction."""
    if await store.get_member(conn, member_id) is None:
        raise NotFound(NO_SUCH_MEMBER)
    if member.member_id != member_id:
        raise Conflict("路径与请求体的队员编号不一致 (member_id differs from the path)", "body.member_id")
    _refuse(await _register(conn, member, now, replace=True))


async def deactivate(conn: asyncpg.Connection, member_id: str, now: datetime) -> None:
    """A member leaves: kept (their past shifts name them) but no longer active for new periods."""
    if not await store.deactivate(conn, member_id, now):
        raise NotFound(NO_SUCH_MEMBER)


def member_json(row: Any, unavailability: list[Any]) -> dict[str, Any]:
    """A member as its readers see it, with its days off (from, days, to, reason)."""
    out = dict(row)
    out["skills"] = list(row["skills"])
    out["unavailability"] = [{"from_day": u["from_day"].isoformat(), "days": (u["to_day"] - u["from_day"]).days + 1,
                              "to_day": u["to_day"].isoformat(), "reason": u["reason"]}
                             for u in unavailability if u["member_id"] == row["member_id"]]
    return out


async def get_member(ctx: RosterContext, member_id: str) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        row = await store.get_member(conn, member_id)
        if row is None:
            raise NotFound(NO_SUCH_MEMBER)
        return member_json(row, await store.get_unavailability(conn, [member_id]))


async def list_members(ctx: RosterContext, *, org_id: str | None, role: str | None, team_id: str | None,
                       active: bool | None, after: str | None, limit: int, name: str | None = None,
                       ) -> list[dict[str, Any]]:
    async with ctx.runtime.connection() as conn:
        rows = await store.list_members(conn, org_id=org_id, role=role, team_id=team_id, active=active, name=name,
                                        after=after, limit=limit)
        absent = await store.get_unavailability(conn, [r["member_id"] for r in rows])
    return [member_json(r, absent) for r in rows]


async def import_members(conn: asyncpg.Connection, raw: bytes, now: datetime, *, max_rows: int) -> ImportReport:
    """Each row of a member CSV registered on its own (a bad row never sinks the file): created, unchanged or
    rejected with its errors. Refuses (NotCsv) a body that is not such a file. Call inside a transaction."""
    report = ImportReport()
    for line, row in read_member_csv(raw, max_rows=max_rows):
        member_id = echoable(row.get("member_id", "").strip()) or None
        if "(extra)" in row:
            extra = [("(row)", "该行字段多于表头 (more fields than the header)")]
            report.rows.append(_rejected(line, member_id, extra))
            continue
        try:
            member = MemberIn.model_validate(member_from_row(row))
        except ValidationError as exc:
            report.rows.append(_rejected(line, member_id, validation_errors(exc)))
            continue
        async with conn.transaction():  # a savepoint: a row's failure leaves the rows before it
            outcome = await _register(conn, member, now, replace=False)
        if outcome in REFUSALS:
            report.rows.append(_rejected(line, member.member_id, [REFUSALS[outcome]]))
        else:
            report.rows.append({"line": line, "member_id": member.member_id, "status": outcome.value})
    return report


def _rejected(line: int, member_id: str | None, errors: list[tuple[str, str]]) -> dict[str, Any]:
    return rejected({"line": line, "member_id": member_id}, errors)
