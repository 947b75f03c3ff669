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

from typing import Annotated

import typer

from pingan_shared.outbox_parked import ParkedRow, parked_rows, unpark
from pingan_stack.service_databases import list_per_service, on_service_database

outbox_app = typer.Typer(help="Transactional outbox: rows the broker refused for good, and retrying them.",
                         no_args_is_help=True)


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
