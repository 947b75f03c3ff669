"""`pingan`: run the embedded stack, mint dev tokens, read dead letters, export event schemas."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from pingan_shared.auth import Role, issue_token
from pingan_shared.clock import clock_from_settings
from pingan_shared.events.catalog import CATALOG
from pingan_shared.settings import PlatformSettings, explain
from pingan_stack.alerts_cli import alerts_app
from pingan_stack.auth_cli import auth_app, configured_signing_key
from pingan_stack.calendar_cli import calendar_app
from pingan_stack.directory_cli import directory_app
from pingan_stack.outbox_cli import outbox_app
from pingan_stack.patrol_import import patrol_app
from pingan_stack.roster_cli import roster_app
from pingan_stack.timers_cli import timers_app
from pingan_stack.users_cli import users_app

app = typer.Typer(help="Pingan 平安 — community safety services. `pingan up` runs everything on this machine.",
                  no_args_is_help=True, add_completion=False)
token_app = typer.Typer(help="Bearer tokens for the API.", no_args_is_help=True)
events_app = typer.Typer(help="Event contracts.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(auth_app, name="auth")
app.add_typer(events_app, name="events")
app.add_typer(outbox_app, name="outbox")
app.add_typer(timers_app, name="timers")
app.add_typer(patrol_app, name="patrol")
app.add_typer(roster_app, name="roster")
app.add_typer(directory_app, name="directory")
app.add_typer(calendar_app, name="calendar")
app.add_typer(alerts_app, name="alerts")
app.add_typer(users_app, name="users")


@app.command()
def up(
    data_dir: Annotated[Path, typer.Option(help="where the embedded PostgreSQL keeps its data")] = Path(".pingan"),
    clock_scale: Annotated[float | None, typer.Option(min=1, max=1_000_000, help=(
        "compressed time: this many seconds of the services' clock per real second, from now (sets "
        "PINGAN_CLOCK_SCALE and PINGAN_CLOCK_EPOCH for every process; `pingan simulate` reads them back)"))] = None,
) -> None:
    """Start PostgreSQL, the Kafka-protocol broker, the console and the four services; Ctrl-C stops all of it.

    The console's address is printed first; on the embedded servers a demo account per role follows, with its
    password (kept in DATA_DIR/demo-accounts.json). KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL (a server URL) switch to
    external servers (and no demo account is made); CONSOLE_HTTP_PORT (8000), PATROL_HTTP_PORT, ROSTER_HTTP_PORT,
    INSPECTION_HTTP_PORT, ALERTS_HTTP_PORT (the APIs, 8001-8004), CONSOLE_METRICS_PORT ... ALERTS_METRICS_PORT (their
    /metrics on 127.0.0.1, 9000-9004), PINGAN_PG_PORT and PINGAN_KAFKA_PORT move ports. The other `pingan` commands
    read the same settings to find this stack.
    """
    import os
    from datetime import UTC, datetime

    from pingan_stack.endpoints import from_environment
    from pingan_stack.stack import options_from_env, run_up

    if clock_scale is not None and clock_scale != 1:
        os.environ["PINGAN_CLOCK_SCALE"] = f"{clock_scale:g}"
        os.environ["PINGAN_CLOCK_EPOCH"] = datetime.now(UTC).replace(microsecond=0).isoformat()

    raise typer.Exit(run_up(from_environment(lambda environ: options_from_env(data_dir, environ))))


@app.command()
def simulate(
    data_dir: Annotated[Path, typer.Option(help="the data directory of the running `pingan up`")] = Path(".pingan"),
    seed: Annotated[int, typer.Option(help="the city and its misbehaviour: the same seed, the same plan")] = 1,
    scale: Annotated[int, typer.Option(min=1, max=1000, help="N times the city's load: teams, members, scans")] = 1,
    chaos: Annotated[bool, typer.Option(help=(
        "SIGKILL each service, the broker and PostgreSQL at seeded moments; `pingan up` restarts them"))] = False,
    cycle_days: Annotated[int, typer.Option(min=1, max=14, help=(
        "days of covert inspection, then as many of rectification (the 211 cycle: 14)"))] = 14,
    settle: Annotated[float, typer.Option(min=1, max=3600, help=(
        "real seconds the read-back may take to balance after the drive"))] = 60,
) -> None:
    """Drive a seeded city (patrol nights, a rotation programme, a 211 cycle, supervisors) through the public APIs
    of a running `pingan up`, on its clock (`pingan up --clock-scale 1440`: a day a minute), misbehaving as the
    field does; then reconcile what it did with what each service recorded and each supervisor received.
    Exit 0 when everything balances, 1 on any difference, 2 when no stack runs. docs/simulate.md."""
    import sys

    from pingan_stack.simulate.run import Options
    from pingan_stack.simulate.run import simulate as run_simulation

    raise typer.Exit(run_simulation(Options(data_dir=data_dir, seed=seed, scale=scale, chaos=chaos,
                                            covert_days=cycle_days, settle_seconds=settle,
                                            live=sys.stderr.isatty())))


@token_app.command("issue")
def token_issue(
    role: Annotated[Role, typer.Option(help="who the token is for")],
    subject: Annotated[str, typer.Option(help="user or device id, e.g. device-07 or 张三")],
    team: Annotated[str | None, typer.Option(help="team id (required for patrol_device)")] = None,
    unit: Annotated[str | None, typer.Option(help="unit id (required for unit)")] = None,
    scope: Annotated[str | None, typer.Option(help="a supervisor's township or area (none: city-wide)")] = None,
    hours: Annotated[float, typer.Option(min=0.01, max=24 * 366, help="validity, in real hours")] = 12,
) -> None:
    """Mint a token signed with the issuer's key: PINGAN_AUTH_SIGNING_KEY_FILE, else the one `pingan up` made
    (.pingan/auth/signing-key.pem). PINGAN_AUTH_AUDIENCE, when set, becomes its aud.

    Times are on the services' clock (PINGAN_CLOCK_SCALE / PINGAN_CLOCK_EPOCH), so a token works under a
    compressed-time demo; its validity is stretched by the scale to last the real hours asked for."""
    settings = _platform_settings()
    scale = settings.pingan_clock_scale
    try:
        now = clock_from_settings(settings).now()
    except OverflowError as exc:  # (wall clock - epoch) × scale is past year 9999: no time to issue at
        typer.echo(f"configuration error: PINGAN_CLOCK_SCALE {scale:g} from PINGAN_CLOCK_EPOCH "
                   f"{settings.pingan_clock_epoch} puts the services' clock past year 9999", err=True)
        raise typer.Exit(2) from exc
    try:
        ttl = timedelta(hours=hours * scale)
        _expires = now + ttl  # the expiry must be a date (9999 at most): checked before any claim is built
    except OverflowError as exc:
        raise typer.BadParameter(f"{hours:g} real hours at PINGAN_CLOCK_SCALE {scale:g} end past year 9999; "
                                 "ask for fewer", param_hint="--hours") from exc
    try:
        key = configured_signing_key(settings)
        token = issue_token(key, role=role, subject=subject, issued_at=now, ttl=ttl, team_id=team, unit_id=unit,
                            scope=scope, audience=settings.pingan_auth_audience)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(token)


@app.command()
def deadletters(
    service: Annotated[list[str] | None, typer.Option(
        metavar="NAME", help="roster, patrol, inspection or alerts; repeatable (default: all)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="newest dead letters per service")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    timeout: Annotated[float, typer.Option(min=0.5, max=600, help="give up after this many seconds")] = 10,
) -> None:
    """Show what each service could not parse or handle (its deadletter.<service> topic), and why.

    Reads the broker `pingan up` uses (KAFKA_BOOTSTRAP_SERVERS, else the embedded one on PINGAN_KAFKA_PORT, 9092;
    said on stderr) and KAFKA_TOPIC_PREFIX; moves no consumer group's offsets.
    """
    import logging

    from pingan_shared.events.catalog import deadletter_topic
    from pingan_shared.messaging.dead_letter_reader import DeadLetterReadError, read_dead_letters
    from pingan_stack.endpoints import broker, from_environment
    from pingan_stack.topology import SERVICES

    known = [spec.name for spec in SERVICES]
    unknown = sorted(set(service or ()) - set(known))
    if unknown:
        raise typer.BadParameter(f"unknown service {', '.join(unknown)}; choose from {', '.join(known)}",
                                 param_hint="--service")
    settings = _platform_settings()
    kafka = from_environment(broker)
    typer.echo(f"pingan deadletters: Kafka at {kafka.describe()}", err=True)
    topics = {name: settings.topic(deadletter_topic(name)) for name in (service or known)}
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its connection retries would drown our one line
    try:
        found = read_dead_letters(kafka.address, list(topics.values()), limit=limit, timeout=timeout)
    except DeadLetterReadError as exc:  # the broker is not there or does not answer: say so, no traceback
        typer.echo(f"pingan deadletters: {exc} ({kafka.source})", err=True)
        raise typer.Exit(1) from exc
    for name, topic in topics.items():
        letters = found.get(topic)
        if as_json:
            for d in letters or []:
                typer.echo(json.dumps({"service": name, "topic": d.topic, "offset": d.offset,
                                       "occurred_at": d.occurred_at.isoformat() if d.occurred_at else None,
                                       "dead_letter": d.letter.model_dump(mode="json") if d.letter else None,
                                       "problem": d.problem}, ensure_ascii=False))
            continue
        if letters is None:
            typer.echo(f"{name}: no dead-letter topic {topic} yet (the service has not started against this broker)")
        else:
            typer.echo(f"{name}: {len(letters)} dead letter(s) in {topic}" + (" (newest shown)" if
                                                                               len(letters) == limit else ""))
            for d in letters:
                typer.echo("  " + d.line())


def _platform_settings() -> PlatformSettings:
    try:
        return PlatformSettings()
    except ValidationError as exc:
        typer.echo(f"configuration error: {explain(exc)}", err=True)
        raise typer.Exit(2) from exc


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


@events_app.command("asyncapi")
def events_asyncapi(
    out: Annotated[Path | None, typer.Option(help="write it to this file (`make schemas`: docs/asyncapi.json)")] = None,
) -> None:
    """Print (or write) the AsyncAPI 3 document of every topic and event, as each service serves at /asyncapi.json."""
    from pingan_shared.events.asyncapi import asyncapi_document, render

    text = render(asyncapi_document())
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(str(out))


@events_app.command("list")
def events_list() -> None:
    """Event types, their current version and topic."""
    for event_type in sorted(CATALOG.types.values(), key=lambda t: t.name):
        typer.echo(f"{event_type.name:<28} v{event_type.version}  {event_type.topic or '(producer decides)'}")
