"""Registering organisations and members (one by one, or a CSV file row by row). One transaction per call."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import asyncpg
from pydantic import ValidationError

from pingan_shared.imports import ImportReport, rejected, validation_errors
from pingan_shared.text import echoable
from roster.domain.members import MemberIn, OrganisationIn, member_from_row, read_member_csv
from roster.store import members as store


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"
    UPDATED = "updated"
    CONFLICT = "conflict"
    UNKNOWN_ORG = "unknown_org"
    APP_ID_TAKEN = "app_id_taken"
    NOT_FOUND = "not_found"


async def register_org(conn: asyncpg.Connection, org: OrganisationIn, now: datetime) -> Outcome:
    if await store.insert_org(conn, org, now):
        return Outcome.CREATED
    existing = await store.get_org(conn, org.org_id)
    return Outcome.UNCHANGED if existing is not None and OrganisationIn(**dict(existing)) == org else Outcome.CONFLICT


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


async def register_member(conn: asyncpg.Connection, member: MemberIn, now: datetime, *, replace: bool) -> Outcome:
    """Create ``member`` (``replace`` False: the same again is harmless, other content a conflict) or replace
    the stored one (``replace`` True: it must exist). Call inside a transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('roster.member:' || $1))", member.member_id)
    existing = await _stored(conn, member.member_id)
    if replace and existing is None:
        return Outcome.NOT_FOUND
    if not replace and existing is not None:
        return Outcome.UNCHANGED if _same(existing, member) else Outcome.CONFLICT
    if await store.get_org(conn, member.org_id) is None:
        return Outcome.UNKNOWN_ORG
    if await store.app_id_taken(conn, member):
        return Outcome.APP_ID_TAKEN
    await store.upsert_member(conn, member, now)
    return Outcome.UPDATED if existing is not None else Outcome.CREATED


REFUSALS = {
    Outcome.CONFLICT: ("member_id", "该编号已用于内容不同的队员 (a different member has this id)"),
    Outcome.UNKNOWN_ORG: ("org_id", "所属组织不存在 (no such organisation)"),
    Outcome.APP_ID_TAKEN: ("app_member_id",
                           "该巡逻队已有队员使用此应用编号 (another member of this team has this app id)"),
}


async def import_members(conn: asyncpg.Connection, raw: bytes, now: datetime, *, max_rows: int) -> ImportReport:
    """Each row of a member CSV registered on its own (a bad row never sinks the file): created, unchanged or
    rejected with its errors. Raises NotCsv for a body that is not such a file. Call inside a transaction."""
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
            outcome = await register_member(conn, member, now, replace=False)
        if outcome in REFUSALS:
            report.rows.append(_rejected(line, member.member_id, [REFUSALS[outcome]]))
        else:
            report.rows.append({"line": line, "member_id": member.member_id, "status": outcome.value})
    return report


def _rejected(line: int, member_id: str | None, errors: list[tuple[str, str]]) -> dict[str, Any]:
    return rejected({"line": line, "member_id": member_id}, errors)
