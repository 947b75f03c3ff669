"""`pingan patrol import <file>`: checkpoints and routes into patrol from a JSON or CSV file, in chunks over
patrol's HTTP API (POST /v1/import), with a progress bar and each rejected row named by its line or index.

JSON: ``{"checkpoints": [...], "routes": [...]}`` — checkpoints go first, so a route may name checkpoints of the
same file. CSV: the header says which (``id,tag,name,…`` checkpoints; ``id,name,checkpoint_ids,…`` routes, the
ids separated by ``|``). Each chunk is one request and one transaction on the server; a rejected row never
stops the others. Exit status: 0 every row in, 1 some rows rejected or a chunk refused, 2 a usage error.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pingan_shared.auth import Role
from pingan_stack.auth_cli import cli_token
from pingan_stack.endpoints import api_to_call

patrol_app = typer.Typer(help="Patrol: checkpoints and routes.", no_args_is_help=True)


@dataclass(frozen=True)
class Chunk:
    """One request: its body, its media type, and where each of its rows came from in the file."""

    body: bytes
    media_type: str
    origins: list[str]


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0,
                                                             "rejected": 0})
    problems: list[str] = field(default_factory=list)


def chunks_of(path: Path, rows_per_chunk: int) -> tuple[int, Iterator[Chunk]]:
    """(row count, chunks) of a JSON or CSV file; raises ValueError for a file that cannot be read."""
    raw = path.read_bytes()
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{path}: not JSON ({exc})") from exc
        if not isinstance(document, dict) or not set(document) <= {"checkpoints", "routes"}:
            raise ValueError(f'{path}: expected {{"checkpoints": [...], "routes": [...]}}')
        items = [(kind, i, item) for kind in ("checkpoints", "routes")
                 for i, item in enumerate(_list(document.get(kind, []), kind, path))]
        return len(items), _json_chunks(items, rows_per_chunk)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: CSV 须为 UTF-8 编码 (not UTF-8: {exc.reason} at byte {exc.start})") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
        rows = [(reader.line_num, values) for values in reader if any(v.strip() for v in values)]
    except StopIteration:
        raise ValueError(f"{path}: empty CSV, expected a header") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: not CSV at line {reader.line_num} ({exc})") from exc
    return len(rows), _csv_chunks(header, rows, rows_per_chunk)


def _list(value: Any, kind: str, path: Path) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{path}: {kind} must be a list")
    return value


def _json_chunks(items: list[tuple[str, int, Any]], size: int) -> Iterator[Chunk]:
    for start in range(0, len(items), size):
        part = items[start:start + size]
        document: dict[str, list[Any]] = {"checkpoints": [], "routes": []}
        for kind, _, item in part:
            document[kind].append(item)
        yield Chunk(json.dumps(document, ensure_ascii=False).encode(), "application/json",
                    [f"{kind}[{i}]" for kind, i, _ in part])


def _csv_chunks(header: list[str], rows: list[tuple[int, list[str]]], size: int) -> Iterator[Chunk]:
    for start in range(0, len(rows), size):
        part = rows[start:start + size]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(values for _, values in part)
        yield Chunk(out.getvalue().encode(), "text/csv; charset=utf-8", [f"line {line}" for line, _ in part])


def send(client: httpx.Client, chunk: Chunk, tally: Tally) -> None:
    """Post one chunk and count its answer; rows are matched to the file by their order in the chunk."""
    response = client.post("/v1/import", content=chunk.body, headers={"Content-Type": chunk.media_type})
    if response.status_code not in (200, 422) or "rows" not in _json(response):
        detail = _json(response).get("detail") or response.text[:300]
        tally.problems.append(f"{chunk.origins[0]}–{chunk.origins[-1]}: HTTP {response.status_code}: {detail}")
        tally.counts["rejected"] += len(chunk.origins)
        return
    for origin, row in zip(chunk.origins, _json(response)["rows"], strict=False):
        tally.counts[row["status"]] = tally.counts.get(row["status"], 0) + 1
        if row["status"] == "rejected":
            reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in row.get("errors") or [])
            tally.problems.append(f"{origin}" + (f" ({row['id']})" if row.get("id") else "") + f": {reasons}")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _token(given: str | None) -> str:
    """The bearer token: --token, else PINGAN_TOKEN, else an organiser token signed with the issuer's key and dated
    by the services' clock (``pingan_stack.auth_cli.cli_token``, as `pingan token issue` does)."""
    if given:
        return given
    if os.environ.get("PINGAN_TOKEN"):
        return os.environ["PINGAN_TOKEN"]
    return cli_token(Role.ORGANISER, subject="pingan patrol import")


@patrol_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="a .json or .csv file of checkpoints or routes")],
    url: Annotated[str | None, typer.Option(help="patrol's base URL (default: PATROL_URL, else where `pingan up` "
                                                 "serves it: http://127.0.0.1:PATROL_HTTP_PORT, 8001)")] = None,
    token: Annotated[str | None, typer.Option(help="bearer token (default: PINGAN_TOKEN, else an organiser "
                                                   "token signed with the issuer's key)")] = None,
    chunk_rows: Annotated[int, typer.Option(min=1, max=5000, help="rows per request")] = 200,
    timeout: Annotated[float, typer.Option(min=1, max=600, help="seconds per request")] = 60,
) -> None:
    """Import checkpoints and routes (JSON or CSV) into patrol, showing progress and every rejected row."""
    try:
        total, chunks = chunks_of(file, chunk_rows)
    except ValueError as exc:
        typer.echo(f"pingan patrol import: {exc}", err=True)
        raise typer.Exit(2) from exc
    patrol = api_to_call("patrol", url)
    typer.echo(f"pingan patrol import: patrol at {patrol.describe()}", err=True)
    tally = Tally()
    console = Console(stderr=True)
    headers = {"Authorization": f"Bearer {_token(token)}"}
    try:
        with httpx.Client(base_url=patrol.address, headers=headers, timeout=timeout) as client, Progress(
            TextColumn("[bold]导入 {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=False,
        ) as progress:
            task = progress.add_task(file.name, total=total)
            for chunk in chunks:
                send(client, chunk, tally)
                progress.advance(task, len(chunk.origins))
    except httpx.HTTPError as exc:
        typer.echo(f"pingan patrol import: cannot reach patrol at {patrol.describe()}: {exc}", err=True)
        raise typer.Exit(1) from exc
    counts = tally.counts
    typer.echo(f"created {counts['created']}, updated {counts['updated']}, unchanged {counts['unchanged']}, "
               f"rejected {counts['rejected']} (of {total} rows)")
    for problem in tally.problems:
        typer.echo(f"  rejected {problem}")
    if tally.problems:
        raise typer.Exit(1)
