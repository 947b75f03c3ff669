"""The operator commands on service databases (outbox, timers): how they connect (one connection, a short connect
timeout: an unreachable server is reported in seconds), list something per service and act on one service's
database.

The database is found as `pingan up` sets it (``pingan_stack.endpoints.service_database``):
``<SERVICE>_DATABASE_URL``, else ``pingan_<service>`` on the server of ``DATABASE_URL``, else the embedded server on
``PINGAN_PG_PORT``; each command says on stderr which database it reads, and from which setting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg
import typer

from pingan_shared.db.pool import create_pool
from pingan_stack.endpoints import Endpoint, from_environment, redact, service_database
from pingan_stack.topology import SERVICES, ServiceSpec

T = TypeVar("T")
Item = TypeVar("Item")

# How long connecting to a service's database may take before the command says it cannot reach it.
CONNECT_TIMEOUT_SECONDS = 5.0

def database_of(spec: ServiceSpec) -> Endpoint:
    """The service's database, said on stderr (``<service>: database <url> (<setting>)``) before it is read; a
    setting that names no port is a usage error."""
    found = from_environment(lambda environ: service_database(spec, environ))
    typer.echo(f"{spec.name}: database {found.describe()}", err=True)
    return found


def service_named(name: str) -> ServiceSpec:
    """The service a ``--service`` option names, or a usage error listing the choices."""
    for spec in SERVICES:
        if spec.name == name:
            return spec
    raise typer.BadParameter(f"unknown service {name}; choose from {', '.join(s.name for s in SERVICES)}",
                             param_hint="--service")


async def _with_connection(url: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    # the services' own pool (JSON codecs, liveness settings), one connection, connecting within the timeout
    pool = await create_pool(url, min_size=1, max_size=1, timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        async with pool.acquire() as conn:
            return await work(conn)
    finally:
        await pool.close()


def list_per_service(
    names: Sequence[str] | None, *, limit: int, as_json: bool, source: str, found_what: str,
    read: Callable[[asyncpg.Connection, int], Awaitable[Sequence[Item]]],
    line: Callable[[Item], str], json_line: Callable[[str, Item], str],
) -> None:
    """For each service named (default: all), the oldest ``limit`` items ``read`` finds in its database: a
    heading ``<service>: N <found_what>`` and a ``line`` each, or a ``json_line`` each. A database that cannot
    be read is one line on stderr (``cannot read <source> from <url>``), the others are still listed, and the
    command exits 1."""
    specs = [service_named(name) for name in names] if names else list(SERVICES)
    unreadable = 0
    for spec in specs:
        url = database_of(spec).address
        try:
            found = asyncio.run(_with_connection(url, lambda conn: read(conn, limit)))
        except Exception as exc:  # the server or the database is not there, or not migrated: say so
            typer.echo(f"{spec.name}: cannot read {source} from {redact(url)}: {exc!r}", err=True)
            unreadable += 1
            continue
        if as_json:
            for item in found:
                typer.echo(json_line(spec.name, item))
            continue
        typer.echo(f"{spec.name}: {len(found)} {found_what}" + (" (oldest shown)" if len(found) == limit else ""))
        for item in found:
            typer.echo(line(item))
    if unreadable:
        raise typer.Exit(1)


def on_service_database(service: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """``work`` on the named service's database; a server that cannot be reached is one line and exit 1."""
    url = database_of(service_named(service)).address
    try:
        return asyncio.run(_with_connection(url, work))
    except Exception as exc:
        typer.echo(f"{service}: cannot reach {redact(url)}: {exc!r}", err=True)
        raise typer.Exit(1) from exc
