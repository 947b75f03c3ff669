"""A CSV file sent to an import endpoint in batches, with a progress bar, answered row by row.

What `pingan roster import-members` and `pingan directory import` share: the file read into (line, cells) rows, sent
``batch`` rows at a time (optionally in another order than the file's, e.g. places before the organisations that
serve them), each batch answered row by row by the service; the rejected rows are printed with their line in the
original file. Exit status: 0 all rows taken, 1 some rows rejected, 2 the file or the service refused as a whole.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from pingan_stack.endpoints import Endpoint

Row = tuple[int, list[str]]  # (line in the file, cells)


def read_rows(raw: bytes) -> tuple[list[str], list[Row]]:
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
    rows: list[Row] = []
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise typer.BadParameter(f"not CSV at line {reader.line_num}: {exc}", param_hint="CSV") from exc
    return header, rows


def chunk_body(header: list[str], rows: Sequence[Row]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(cells for _, cells in rows)
    return out.getvalue().encode()


@dataclass(frozen=True)
class Upload:
    service: Endpoint
    path: str  # the import endpoint, e.g. /v1/member-imports
    id_column: str  # the answer's id of a row, e.g. member_id
    statuses: tuple[str, ...]  # what the service counts, e.g. created, unchanged, rejected
    label: str  # the progress bar's, Chinese first
    token: str


def upload(job: Upload, header: list[str], rows: list[Row], *, batch: int, as_json: bool,
           order: Callable[[list[str], Row], Any] | None = None) -> None:
    """Send ``rows`` ``batch`` at a time (sorted by ``order(header, row)`` first, if given), print the totals and
    the rejected rows; exit 1 when some were rejected, 2 when the service refused or could not be reached."""
    if order is not None:
        rows = sorted(rows, key=lambda row: order(header, row))
    headers = {"Authorization": f"Bearer {job.token}", "Content-Type": "text/csv"}
    totals = dict.fromkeys(job.statuses, 0)
    rejected: list[dict[str, Any]] = []
    progress = Progress(TextColumn(job.label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        disable=as_json, transient=False)
    with progress, httpx.Client(base_url=job.service.address, timeout=60) as client:
        task = progress.add_task("import", total=len(rows))
        for start in range(0, len(rows), batch):
            part = rows[start:start + batch]
            try:
                response = client.post(job.path, content=chunk_body(header, part), headers=headers)
            except httpx.HTTPError as exc:
                progress.stop()
                typer.echo(f"service at {job.service.describe()} unreachable: {exc}", err=True)
                raise typer.Exit(2) from exc
            if response.status_code != 200:
                progress.stop()
                typer.echo(f"the service refused the import ({response.status_code}): {response.text[:500]}",
                           err=True)
                raise typer.Exit(2)
            report = response.json()
            for key in totals:
                totals[key] += report[key]
            # the service answers each data row, in order: map its answers back to the file's lines
            for (line, _), answer in zip(part, report["rows"], strict=True):
                if answer["status"] == "rejected":
                    rejected.append({"line": line, job.id_column: answer.get(job.id_column),
                                     "errors": answer.get("errors", [])})
            progress.advance(task, len(part))
    rejected.sort(key=lambda row: row["line"])
    if as_json:
        typer.echo(json.dumps(totals | {"rejected_rows": rejected}, ensure_ascii=False))
    else:
        names = {"created": "新增", "updated": "更新", "unchanged": "未变", "rejected": "拒绝"}
        typer.echo(", ".join(f"{names.get(k, k)} {k} {v}" for k, v in totals.items()))
        for row in rejected:
            reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in row["errors"])
            typer.echo(f"  line {row['line']} ({row[job.id_column] or '-'}): {reasons}")
    if rejected:
        raise typer.Exit(1)
