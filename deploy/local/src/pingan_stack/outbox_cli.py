"""`pingan outbox`: the outbox rows each service's relay parked, and putting one back once its cause is fixed.

The relay parks a row the broker refuses for good (too large, an illegal topic; see
``pingan_shared.messaging.outbox``) instead of retrying it forever in front of every later row. A parked row
is kept with its error and never purged; this is where an operator sees it and, after fixing the cause
(raising the broker's and the producer's size limits, say), hands it back to the relay.

Each service's database is found as the service itself and `pingan up` find it: ``<SERVICE>_DATABASE_URL``,
else ``pingan_<service>`` on the server of ``DATABASE_URL``, else on the embedded server `pingan up` starts
(``PINGAN_PG_PORT``, 54320). Reading takes no lock the relay needs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import asyncpg
import typer

from pingan_stack.service_databases import list_per_service, on_service_database

outbox_app = typer.Typer(help="Transactional outbox: rows the broker refused for good, and retrying them.",
                         no_args_is_help=True)

@dataclass(frozen=True)
class ParkedRow:
    id: int
    topic: str
    key: str
    sequence: int | None
    event_id: str
    event_type: str
    size: int
    created_at: datetime
    parked_at: datetime
    error: str

    def as_json(self, service: str) -> str:
        return json.dumps({"service": service, "id": self.id, "topic": self.topic, "key": self.key,
                           "sequence": self.sequence, "event_id": self.event_id, "event_type": self.event_type,
                           "size": self.size, "created_at": self.created_at.isoformat(),
                           "parked_at": self.parked_at.isoformat(), "error": self.error}, ensure_ascii=False)

    def line(self) -> str:
        sequence = f" #{self.sequence}" if self.sequence is not None else ""
        return (f"  id {self.id}  parked {self.parked_at.isoformat(timespec='seconds')}  {self.topic}  "
                f"key {self.key}{sequence}  {self.event_type} {self.event_id}  {self.size} bytes\n"
                f"    error: {self.error}")


async def parked_rows(conn: asyncpg.Connection, *, limit: int) -> list[ParkedRow]:
    """The oldest ``limit`` parked rows, oldest first."""
    rows = await conn.fetch(
        """
        SELECT id, topic, key, sequence, event_id::text, event_type, octet_length(value) AS size, created_at,
               parked_at, parked_error
        FROM outbox WHERE parked_at IS NOT NULL ORDER BY id LIMIT $1
        """,
        limit,
    )
    return [ParkedRow(r["id"], r["topic"], r["key"], r["sequence"], r["event_id"], r["event_type"], r["size"],
                      r["created_at"], r["parked_at"], r["parked_error"]) for r in rows]


async def unpark(conn: asyncpg.Connection, ids: Sequence[int]) -> list[int]:
    """Hand parked rows back to the relay: its next batch sends them (it reads unsent rows in id order).
    The rows written after them were normally published long ago, so a retried row reaches its topic after
    them; consumers place it by its sequence (a stale transition is ignored). Returns the ids that were
    parked. The notification wakes the relay at once."""
    async with conn.transaction():
        rows = await conn.fetch(
            """
            UPDATE outbox SET parked_at = NULL, parked_error = NULL
            WHERE id = ANY($1::bigint[]) AND parked_at IS NOT NULL AND sent_at IS NULL RETURNING id
            """,
            list(ids),
        )
        await conn.execute("SELECT pg_notify('outbox', '')")
    return sorted(r["id"] for r in rows)


@outbox_app.command("parked")
def parked(
    service: Annotated[list[str] | None, typer.Option(
        metavar="NAME", help="roster, patrol, inspection or alerts; repeatable (default: all)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="oldest parked rows per service")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """List the outbox rows the broker refused for good, with their error: they wait for `pingan outbox retry`."""
    list_per_service(service, limit=limit, as_json=as_json, source="the outbox", found_what="parked outbox row(s)",
                     read=lambda conn, limit: parked_rows(conn, limit=limit), line=ParkedRow.line,
                     json_line=lambda name, row: row.as_json(name))


@outbox_app.command("retry")
def retry(
    row_ids: Annotated[list[int], typer.Argument(metavar="ID...", help="ids as `pingan outbox parked` shows them")],
    service: Annotated[str, typer.Option(metavar="NAME", help="the service whose database holds them")],
) -> None:
    """Hand parked rows back to the relay once the cause is fixed; refused again, they are parked again."""
    retried = on_service_database(service, lambda conn: unpark(conn, row_ids))
    for row_id in retried:
        typer.echo(f"{service}: outbox row {row_id} is waiting to be published again")
    missing = sorted(set(row_ids) - set(retried))
    if missing:
        typer.echo(f"{service}: no parked outbox row {', '.join(map(str, missing))}", err=True)
        raise typer.Exit(1)
