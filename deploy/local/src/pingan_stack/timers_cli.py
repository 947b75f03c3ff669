"""`pingan timers`: the timers that failed for good in each service's database, and retrying one.

A timer whose handler failed every attempt fires no more (see ``pingan_shared.timers``); this is where
someone sees it and, once the cause is fixed, gives it its attempts back.

Each service's database is found as the service itself and `pingan up` find it: ``<SERVICE>_DATABASE_URL``,
else ``pingan_<service>`` on the server of ``DATABASE_URL``, else on the embedded server `pingan up`
starts (``PINGAN_PG_PORT``, 54320).
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Annotated

import typer

from pingan_shared.db.pool import create_pool
from pingan_shared.timers import FailedTimer, failed_timers, retry_failed
from pingan_stack.service_databases import redact, service_database_url, service_named
from pingan_stack.topology import SERVICES

timers_app = typer.Typer(help="Durable timers: the ones that failed for good, and retrying them.",
                         no_args_is_help=True)

async def _read_failed(url: str, limit: int) -> list[FailedTimer]:
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            return await failed_timers(conn, limit=limit)
    finally:
        await pool.close()


async def _retry(url: str, timer_id: int) -> bool:
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            return await retry_failed(conn, timer_id)
    finally:
        await pool.close()


def _as_json(service: str, timer: FailedTimer) -> str:
    return json.dumps({"service": service, "id": timer.id, "kind": timer.kind, "key": timer.key,
                       "due_at": timer.due_at.isoformat(), "attempts": timer.attempts,
                       "last_error": timer.last_error, "payload": timer.payload}, ensure_ascii=False)


def _line(timer: FailedTimer) -> str:
    return (f"  #{timer.id}  {timer.kind} {timer.key}  due {timer.due_at.isoformat(timespec='seconds')}  "
            f"{timer.attempts} attempt(s)\n    last error: {timer.last_error}")


@timers_app.command("failed")
def failed(
    service: Annotated[list[str] | None, typer.Option(
        metavar="NAME", help="roster, patrol, inspection or alerts; repeatable (default: all)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="oldest failed timers per service")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """List the timers that failed every attempt and fire no more, with their last error."""
    specs = [service_named(name) for name in service] if service else list(SERVICES)
    unreadable = 0
    for spec in specs:
        url = service_database_url(spec, os.environ)
        try:
            found = asyncio.run(_read_failed(url, limit))
        except Exception as exc:  # the server or the database is not there: say so, no traceback
            typer.echo(f"{spec.name}: cannot read timers from {redact(url)}: {exc!r}", err=True)
            unreadable += 1
            continue
        if as_json:
            for timer in found:
                typer.echo(_as_json(spec.name, timer))
            continue
        typer.echo(f"{spec.name}: {len(found)} failed timer(s)" + (" (oldest shown)" if len(found) == limit else ""))
        for timer in found:
            typer.echo(_line(timer))
    if unreadable:
        raise typer.Exit(1)


@timers_app.command("retry")
def retry(
    timer_id: Annotated[int, typer.Argument(metavar="ID", help="the timer's id, as `pingan timers failed` shows it")],
    service: Annotated[str, typer.Option(metavar="NAME", help="the service whose database holds it")],
) -> None:
    """Give a failed timer its attempts back: the service fires it on its next poll."""
    url = service_database_url(service_named(service), os.environ)
    try:
        retried = asyncio.run(_retry(url, timer_id))
    except Exception as exc:
        typer.echo(f"{service}: cannot reach {redact(url)}: {exc!r}", err=True)
        raise typer.Exit(1) from exc
    if not retried:
        typer.echo(f"{service}: no failed timer #{timer_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{service}: timer #{timer_id} is pending again")
