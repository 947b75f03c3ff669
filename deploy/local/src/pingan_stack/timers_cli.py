"""`pingan timers`: the timers that failed for good in each service's database, and retrying one.

A timer whose handler failed every attempt fires no more (see ``pingan_shared.timers``); this is where
someone sees it and, once the cause is fixed, gives it its attempts back.

Each service's database is found as the service itself and `pingan up` find it: ``<SERVICE>_DATABASE_URL``,
else ``pingan_<service>`` on the server of ``DATABASE_URL``, else on the embedded server `pingan up`
starts (``PINGAN_PG_PORT``, 54320).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from pingan_shared.timer_failures import FailedTimer, failed_timers, retry_failed
from pingan_stack.service_databases import list_per_service, on_service_database

timers_app = typer.Typer(help="Durable timers: the ones that failed for good, and retrying them.",
                         no_args_is_help=True)

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
    list_per_service(service, limit=limit, as_json=as_json, source="timers", found_what="failed timer(s)",
                     read=lambda conn, limit: failed_timers(conn, limit=limit), line=_line, json_line=_as_json)


@timers_app.command("retry")
def retry(
    timer_id: Annotated[int, typer.Argument(metavar="ID", help="the timer's id, as `pingan timers failed` shows it")],
    service: Annotated[str, typer.Option(metavar="NAME", help="the service whose database holds it")],
) -> None:
    """Give a failed timer its attempts back: the service fires it on its next poll."""
    retried = on_service_database(service, lambda conn: retry_failed(conn, timer_id))
    if not retried:
        typer.echo(f"{service}: no failed timer #{timer_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{service}: timer #{timer_id} is pending again")
