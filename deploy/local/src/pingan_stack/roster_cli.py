"""`pingan roster import-members FILE.csv`: register a cohort's members from a CSV file through the roster API.

The file is sent in batches (``--batch`` rows each) to ``POST /v1/member-imports``, so a large file shows its
progress on a bar and one bad row never sinks the others: the service answers each row on its own (created,
unchanged, or rejected with the field at fault), and this command prints the rejected rows with their line in the
original file. Exit status: 0 all rows taken, 1 some rows rejected, 2 the file or the service refused as a whole.

The service is ``--url``, else ``ROSTER_URL``, else `pingan up`'s roster (on ``ROSTER_HTTP_PORT``, 8002), said on
stderr. The token is ``--token``
(``PINGAN_TOKEN``); without one, an organiser token is minted with the issuer's signing key as `pingan token issue`
does (``pingan_stack.auth_cli``: so it works against a local stack).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pingan_shared.auth import Role
from pingan_stack.auth_cli import cli_token
from pingan_stack.csv_upload import Upload, read_rows, upload
from pingan_stack.endpoints import api_to_call

roster_app = typer.Typer(help="轮值轮训 rosters: members and cohorts.", no_args_is_help=True)


def organiser_token() -> str:
    return cli_token(Role.ORGANISER)


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
    header, rows = read_rows(csv_path.read_bytes())
    roster = api_to_call("roster", url)
    typer.echo(f"pingan roster import-members: roster at {roster.describe()}", err=True)
    upload(Upload(roster, "/v1/member-imports", "member_id", ("created", "unchanged", "rejected"),
                  "导入队员 importing members", token or organiser_token()), header, rows, batch=batch, as_json=as_json)
