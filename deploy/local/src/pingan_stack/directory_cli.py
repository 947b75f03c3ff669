"""`pingan directory import FILE.csv`: load the city's places and organisations into the directory (roster owns it).

The rows are sent places first, from the city down, then the organisations (so a file may list them in any order,
also across batches), ``--batch`` rows per request to ``POST /v1/directory/imports``; each row is answered on its
own (created, updated, unchanged, or rejected with the field at fault) and rejected rows are printed with their line
in the file. ``pingan directory import --sample`` loads the sample city of the walk-through (瑞安市: its 镇街, some
村社 and 网格, the units of the 211 examples, patrol teams). Exit status: 0 all rows taken, 1 some rows rejected,
2 the file or the service refused as a whole. The service and the token are found as `pingan roster` finds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pingan_shared.events.directory_contracts import PLACE_LEVELS, EntryKind
from pingan_stack.csv_upload import Row, Upload, read_rows, upload
from pingan_stack.endpoints import api_to_call
from pingan_stack.roster_cli import organiser_token
from pingan_stack.sample_directory import sample_csv

directory_app = typer.Typer(help="地点与组织目录 the directory of places and organisations.", no_args_is_help=True)
def places_first(header: list[str], row: Row) -> int:
    """Places from the top level down, then organisations (and rows whose kind is unknown, for the service to
    refuse); the service writes a batch in this order too, this keeps it across batches."""
    kind_column = header.index("kind") if "kind" in header else None
    cells = row[1]
    kind = cells[kind_column].strip() if kind_column is not None and kind_column < len(cells) else ""
    try:
        return PLACE_LEVELS.get(EntryKind(kind), len(PLACE_LEVELS))
    except ValueError:
        return len(PLACE_LEVELS)


@directory_app.command("import")
def import_directory(
    csv_path: Annotated[Path | None, typer.Argument(metavar="CSV", exists=True, dir_okay=False, readable=True, help=(
        "UTF-8 CSV with the header code,kind,name,parent[,latitude,longitude,geometry,retired]"))] = None,
    sample: Annotated[bool, typer.Option("--sample", help="load the walk-through's sample city (瑞安市)")] = False,
    url: Annotated[str | None, typer.Option(help="the roster service (default: ROSTER_URL, else where `pingan up` "
                                                 "serves it: http://127.0.0.1:ROSTER_HTTP_PORT, 8002)")] = None,
    token: Annotated[str | None, typer.Option(envvar="PINGAN_TOKEN", help="an organiser's or admin's token")] = None,
    batch: Annotated[int, typer.Option(min=1, max=5000, help="rows per request")] = 500,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as one JSON object")] = False,
) -> None:
    """Load places and organisations from a CSV file (or the sample city), with a progress bar."""
    if (csv_path is None) == (not sample):
        raise typer.BadParameter("give a CSV file or --sample (one of them)", param_hint="CSV")
    header, rows = read_rows(sample_csv() if sample else csv_path.read_bytes())  # type: ignore[union-attr]
    roster = api_to_call("roster", url)
    typer.echo(f"pingan directory import: roster at {roster.describe()}", err=True)
    upload(Upload(roster, "/v1/directory/imports", "code", ("created", "updated", "unchanged", "rejected"),
                  "导入目录 importing the directory", token or organiser_token()), [h.strip().lower() for h in header],
           rows, batch=batch, as_json=as_json, order=places_first)
