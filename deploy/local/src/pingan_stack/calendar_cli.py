"""`pingan calendar load YEAR FILE.csv`: load the State Council's holiday arrangement of a year into inspection.

The file lists the notice's days, one per line, ``date,type[,name]``: ``type`` is ``holiday`` (放假) for a day off or
``workday`` (上班) for a make-up workday (调休). ``--notice`` names the notice (国务院办公厅关于2027年部分节假日安排的
通知 by default). inspection counts that year's working days by it from now on, and counts again every open deadline
counted in working days through it; the deadlines that moved are printed. ``pingan calendar show YEAR`` prints how
the year is counted. The service is ``--url``, else ``INSPECTION_URL``, else `pingan up`'s inspection; the token
``--token`` (``PINGAN_TOKEN``), else an admin token signed with the issuer's key (``pingan_stack.auth_cli``).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from pingan_stack.api_call import call_api

calendar_app = typer.Typer(help="工作日历 working days: a year's holiday notice.", no_args_is_help=True)
KINDS = {"holiday": "holidays", "放假": "holidays", "workday": "workdays", "上班": "workdays"}


def read_notice(raw: bytes) -> dict[str, list[str]]:
    """The holidays and workdays of a ``date,type[,name]`` file (a header line is optional)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise typer.BadParameter(f"not UTF-8 ({exc.reason} at byte {exc.start})", param_hint="CSV") from exc
    days: dict[str, list[str]] = {"holidays": [], "workdays": []}
    for line, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not any(c.strip() for c in cells) or (line == 1 and cells[0].strip().lower() == "date"):
            continue
        if len(cells) < 2 or cells[1].strip().lower() not in KINDS:
            raise typer.BadParameter(f"line {line}: expected date,type with type holiday/放假 or workday/上班",
                                     param_hint="CSV")
        days[KINDS[cells[1].strip().lower()]].append(cells[0].strip())
    return days


@calendar_app.command("load")
def load(
    year: Annotated[int, typer.Argument(min=2000, max=2099)],
    csv_path: Annotated[Path, typer.Argument(metavar="CSV", exists=True, dir_okay=False, readable=True, help=(
        "UTF-8 CSV of the notice's days: date,type[,name] with type holiday (放假) or workday (上班)"))],
    notice: Annotated[str | None, typer.Option(help="the notice's name or number")] = None,
    url: Annotated[str | None, typer.Option(help="the inspection service (default: INSPECTION_URL, else where "
                                                 "`pingan up` serves it: http://127.0.0.1:8003)")] = None,
    token: Annotated[str | None, typer.Option(envvar="PINGAN_TOKEN", help="an admin's token")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the answer as one JSON object")] = False,
) -> None:
    """Load a year's holiday notice; print the deadlines it moved."""
    body = {"notice": notice or f"国务院办公厅关于{year}年部分节假日安排的通知", **read_notice(csv_path.read_bytes())}
    answer = _call("PUT", year, url, token, json=body)
    if as_json:
        typer.echo(json.dumps(answer, ensure_ascii=False))
        return
    typer.echo(f"{year}: 放假 holidays {len(answer['holidays'])}, 调休上班 workdays {len(answer['workdays'])}"
               + ("" if answer["changed"] else " (unchanged)"))
    for moved in answer["moved"]:
        change = moved.get("refused") or f"{moved['previous']} → {moved['deadline']}"
        typer.echo(f"  {moved['entity_type']} {moved['id']}: {change}")


@calendar_app.command("show")
def show(
    year: Annotated[int, typer.Argument(min=2000, max=2099)],
    url: Annotated[str | None, typer.Option(help="the inspection service")] = None,
    token: Annotated[str | None, typer.Option(envvar="PINGAN_TOKEN", help="any token")] = None,
) -> None:
    """How inspection counts a year: loaded (its notice), the package's, or not known (exit 1)."""
    typer.echo(json.dumps(_call("GET", year, url, token), ensure_ascii=False))


def _call(method: str, year: int, url: str | None, token: str | None, **kwargs: Any) -> dict[str, Any]:
    return call_api("calendar", "inspection", method, f"/v1/working-calendar/{year}", url=url, token=token, **kwargs)
