"""`pingan`: run the embedded stack, mint dev tokens, export event schemas."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from pingan_shared.auth import Role, issue_token
from pingan_shared.clock import SystemClock
from pingan_shared.events.catalog import CATALOG
from pingan_shared.settings import PlatformSettings, explain

app = typer.Typer(help="Pingan 平安 — community safety services. `pingan up` runs everything on this machine.",
                  no_args_is_help=True, add_completion=False)
token_app = typer.Typer(help="Bearer tokens for the API.", no_args_is_help=True)
events_app = typer.Typer(help="Event contracts.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(events_app, name="events")


@app.command()
def up(
    data_dir: Annotated[Path, typer.Option(help="where the embedded PostgreSQL keeps its data")] = Path(".pingan"),
) -> None:
    """Start PostgreSQL, the Kafka-protocol broker and the four services; Ctrl-C stops all of it.

    KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL (a server URL) switch to external servers;
    PATROL_HTTP_PORT, ROSTER_HTTP_PORT, INSPECTION_HTTP_PORT, ALERTS_HTTP_PORT, PINGAN_PG_PORT and
    PINGAN_KAFKA_PORT move ports.
    """
    from pingan_stack.stack import options_from_env, run_up

    raise typer.Exit(run_up(options_from_env(data_dir)))


@token_app.command("issue")
def token_issue(
    role: Annotated[Role, typer.Option(help="who the token is for")],
    subject: Annotated[str, typer.Option(help="user or device id, e.g. device-07 or 张三")],
    team: Annotated[str | None, typer.Option(help="team id (required for patrol_device)")] = None,
    unit: Annotated[str | None, typer.Option(help="unit id (required for unit)")] = None,
    hours: Annotated[float, typer.Option(min=0.01, max=24 * 366, help="validity")] = 12,
) -> None:
    """Mint a signed token with PINGAN_AUTH_SECRET (the dev secret unless set)."""
    try:
        settings = PlatformSettings()
    except ValidationError as exc:
        typer.echo(f"configuration error: {explain(exc)}", err=True)
        raise typer.Exit(2) from exc
    try:
        token = issue_token(
            settings.pingan_auth_secret.get_secret_value(), role=role, subject=subject,
            issued_at=SystemClock().now(), ttl=timedelta(hours=hours), team_id=team, unit_id=unit,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(token)


@events_app.command("schemas")
def events_schemas(
    out: Annotated[Path | None, typer.Option(help="write one .schema.json per event type here")] = None,
) -> None:
    """Print (or write) the JSON Schema of every event type in the catalog."""
    if out is None:
        typer.echo(json.dumps(CATALOG.json_schemas(), ensure_ascii=False, indent=2, sort_keys=True))
        return
    for path in CATALOG.export_json_schemas(out):
        typer.echo(str(path))


@events_app.command("list")
def events_list() -> None:
    """Event types, their current version and topic."""
    for event_type in sorted(CATALOG.types.values(), key=lambda t: t.name):
        typer.echo(f"{event_type.name:<28} v{event_type.version}  {event_type.topic or '(producer decides)'}")
