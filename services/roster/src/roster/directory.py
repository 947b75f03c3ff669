"""The directory of places and organisations, kept by roster (its owner, DESIGN.md §3): an entry defined (one at a
time or a CSV file row by row) is written and published in one transaction, its per-code outbox sequence its
version, so that every service's copy keeps the newest whatever the order it hears them in. Reading it is every
service's (``pingan_shared.directory.reads``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import asyncpg
from pydantic import ValidationError

from pingan_shared.csv_rows import CsvRefused, read_csv_rows
from pingan_shared.directory import store
from pingan_shared.directory.entries import Entry, parent_problem
from pingan_shared.events.catalog import DIRECTORY_ENTRY
from pingan_shared.imports import ImportReport, rejected, validation_errors
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.refused import Invalid
from pingan_shared.text import echoable
from roster.context import RosterContext
from roster.domain.directory import (
    DIRECTORY_CSV_COLUMNS,
    REQUIRED_CSV_COLUMNS,
    EntryIn,
    entry_from_row,
    writing_order,
)
from roster.domain.members import NotCsv


@dataclass
class DirectoryImportReport(ImportReport):
    statuses: ClassVar[tuple[str, ...]] = ("created", "updated", "unchanged", "rejected")


async def define(conn: asyncpg.Connection, ctx: RosterContext, entry: Entry) -> str:
    """Write and publish ``entry``: created, updated or unchanged. Raises Invalid (422 naming the field) for a parent
    that is unknown or of the wrong level, or a code whose kind would change. Call inside a transaction."""
    existing = await store.get(conn, entry.code)
    if existing == entry:
        return "unchanged"
    if existing is not None and existing.kind is not entry.kind:
        raise Invalid(f"编码 {entry.code} 已是{existing.kind.value}，不能改为 {entry.kind.value}：请撤销后另用新编码 "
                      f"(a code keeps its kind: retire it and use a new code)", "kind")
    problem = parent_problem(entry, await store.get(conn, entry.parent) if entry.parent else None)
    if problem:
        raise Invalid(problem, "parent")
    [published] = await enqueue(conn, [ctx.events.make(DIRECTORY_ENTRY, entry.as_payload(), key=entry.code)])
    assert published.sequence is not None  # the outbox numbers every key's events
    await store.put_if_newer(conn, entry, version=published.sequence)
    return "created" if existing is None else "updated"


async def put_entry(ctx: RosterContext, given: EntryIn) -> str:
    async with ctx.runtime.connection() as conn, conn.transaction():
        return await define(conn, ctx, given.entry())


async def import_entries(conn: asyncpg.Connection, ctx: RosterContext, raw: bytes, *,
                         max_rows: int) -> DirectoryImportReport:
    """Each row of a directory CSV defined on its own (a bad row never sinks the file), places from the top down
    and organisations after them, so a file may list a village before its township; the answers keep the file's
    order. Raises NotCsv (400) for a body that is not such a file. Call inside a transaction."""
    try:
        read = read_csv_rows(raw, kinds={"directory": REQUIRED_CSV_COLUMNS}, max_rows=max_rows,
                             columns=DIRECTORY_CSV_COLUMNS)
    except CsvRefused as exc:
        raise NotCsv(str(exc)) from exc
    rows = read.rows
    answers: dict[int, dict[str, Any]] = {}
    valid: list[tuple[int, int, Entry]] = []
    for index, row in enumerate(rows):
        code = echoable(row.values.get("code", "").strip()) or None
        where = {"line": row.line, "code": code}
        if row.cells > len(read.header):
            answers[index] = rejected(where, [("(row)", "该行字段多于表头 (more fields than the header)")])
            continue
        data = entry_from_row(row.values)
        try:
            given = EntryIn.model_validate(data)
        except ValidationError as exc:
            answers[index] = rejected(where, validation_errors(exc))
            continue
        valid.append((index, row.line, given.entry()))
    for index, line, entry in sorted(valid, key=lambda item: (writing_order(item[2]), item[0])):
        try:
            async with conn.transaction():  # a savepoint: a row's refusal leaves the rows before it
                status = await define(conn, ctx, entry)
        except Invalid as refused:
            answers[index] = rejected({"line": line, "code": entry.code}, [(refused.field or "(row)",
                                                                             refused.detail)])
            continue
        answers[index] = {"line": line, "code": entry.code, "status": status}
    return DirectoryImportReport(rows=[answers[i] for i in range(len(rows))])
