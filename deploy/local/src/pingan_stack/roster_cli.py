"""`pingan roster import-members FILE.csv`: register a cohort's members from a CSV file through the roster API.

The file is sent in batches (``--batch`` rows each) to ``POST /v1/member-imports``, so a large file shows its
progress on a bar and one bad row never sinks the others: the service answers each row on its own (created,
unchanged, or rejected with the field at fault), and this command prints the rejected rows with their line in the
original file. Exit status: 0 all rows taken, 1 some rows rejected, 2 the file or the service refused as a whole.

The service is ``--url``, else ``ROSTER_URL``, else `pingan up`'s roster (on ``ROSTER_HTTP_PORT``, 8002), said on
stderr. The token is ``--token``
(``PINGAN_TOKEN``); without one, an organiser token is minted with ``PINGAN_AUTH_SECRET`` as `pingan token issue`
does (so it works against a local stack).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from pingan_shared.auth import Role, issue_token
from pingan_shared.clock import clock_from_settings
from pingan_shared.settings import PlatformSettings
from pingan_stack.endpoints import api_to_call

roster_app = typer.Typer(help="轮值轮训 rosters: members and cohorts.", no_args_is_help=True)


def _rows(raw: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the (line number, cells) of each non-blank data row."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise typer.BadParameter(f"not UTF-8 ({exc.reason} at byte {exc.start})", param_hint="CSV") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise typer.BadParameter("the file is empty (no header)", param_hint="CSV") from None
    except csv.Error as exc:
        raise typer.BadParameter(f"not CSV: {exc}", param_hint="CSV") from exc
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise typer.BadParameter(f"not CSV at line {reader.line_num}: {exc}", param_hint="CSV") from exc
    return header, rows


def _chunk_body(header: list[str], rows: list[tuple[int, list[str]]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(cells for _, cells in rows)
    return out.getvalue().encode()


def _default_token() -> str:
    settings = PlatformSettings()
    return issue_token(settings.pingan_auth_secret.get_secret_value(), role=Role.ORGANISER, subject="pingan-cli",
                       issued_at=clock_from_settings(settings).now(),
                       ttl=timedelta(hours=settings.pingan_clock_scale))


@roster_app.command("import-members")
def import_members(
    csv_path: Annotated[Path, typer.Argument(metavar="CSV", exists=True, dir_okay=False, readable=True, help=(
        "UTF-8 CSV with the header member_id,name,org_id,role[,skills,phone,email,team_id,app_member_id]"))],
    url: Annotated[str | None, typer.Option(help="the roster service (default: ROSTER_URL, else where `pingan up` "
                                                 "serves it: http://127.0.0.1:ROSTER_HTTP_PORT, 8002)")] = None,
    token: Annotated[str | None, typer.Option(envvar="PINGAN_TOKEN", help="an organiser's or admin's token")] = None,
    batch: Annotated[int, typer.Option(min=1, max=5000, help="rows per request")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as one JSON object")] = False,
) -> None:
    """Register members from a CSV file, with a progress bar; rejected rows are listed with their line."""
    header, rows = _rows(csv_path.read_bytes())
    roster = api_to_call("roster", url)
    typer.echo(f"pingan roster import-members: roster at {roster.describe()}", err=True)
    headers = {"Authorization": f"Bearer {token or _default_token()}", "Content-Type": "text/csv"}
    totals = {"created": 0, "unchanged": 0, "rejected": 0}
    rejected: list[dict[str, Any]] = []
    progress = Progress(TextColumn("导入队员 importing members"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), disable=as_json, transient=False)
    with progress, httpx.Client(base_url=roster.address, timeout=60) as client:
        task = progress.add_task("import", total=len(rows))
        for start in range(0, len(rows), batch):
            part = rows[start:start + batch]
            try:
                response = client.post("/v1/member-imports", content=_chunk_body(header, part), headers=headers)
            except httpx.HTTPError as exc:
                progress.stop()
                typer.echo(f"roster service at {roster.describe()} unreachable: {exc}", err=True)
                raise typer.Exit(2) from exc
            if response.status_code != 200:
                progress.stop()
                typer.echo(f"roster refused the import ({response.status_code}): {response.text[:500]}", err=True)
                raise typer.Exit(2)
            report = response.json()
            for key in totals:
                totals[key] += report[key]
            # the service answers each data row, in order: map its answers back to the file's lines
            for (line, _), answer in zip(part, report["rows"], strict=True):
                if answer["status"] == "rejected":
                    rejected.append({"line": line, "member_id": answer.get("member_id"),
                                     "errors": answer.get("errors", [])})
            progress.advance(task, len(part))
    if as_json:
        typer.echo(json.dumps(totals | {"rejected_rows": rejected}, ensure_ascii=False))
    else:
        typer.echo(f"新增 created {totals['created']}, 未变 unchanged {totals['unchanged']}, "
                   f"拒绝 rejected {totals['rejected']}")
        for row in rejected:
            reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in row["errors"])
            typer.echo(f"  line {row['line']} ({row['member_id'] or '-'}): {reasons}")
    if rejected:
        raise typer.Exit(1)
