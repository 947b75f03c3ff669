"""`pingan alerts deliveries list|resend`: the alerts service's delivery dead letters — notifications that failed
every attempt — listed, and re-sent after an outage.

``list`` prints the open dead letters (``--status resent|all`` for the others) as a table, filtered by ``--channel``,
``--recipient`` and ``--alert``; ``resend ID`` re-sends one, ``resend --all`` every open one the filters match.
A re-sent message keeps its idempotency key (a receiver drops what it already has) and gets a fresh attempt budget.
Exit status: 0 done, 1 no such dead letter or one that cannot be re-sent (its recipient's contact was removed),
2 the service unreachable or refusing. The service is ``--url``, else ``ALERTS_URL``, else `pingan up`'s alerts; the
token ``--token`` (``PINGAN_TOKEN``), else an admin token signed with the issuer's key (``pingan_stack.auth_cli``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pingan_stack.api_call import call_api

alerts_app = typer.Typer(help="预警 alerts: notification deliveries.", no_args_is_help=True)
deliveries_app = typer.Typer(help="通知投递 deliveries: dead letters, listed and re-sent.", no_args_is_help=True)
alerts_app.add_typer(deliveries_app, name="deliveries")

DEAD_LETTERS = "/v1/deliveries/dead-letters"
CHANNELS = ("webhook", "email", "inbox", "stream")

Url = Annotated[str | None, typer.Option(help="the alerts service (default: ALERTS_URL, else where `pingan up` "
                                              "serves it: http://127.0.0.1:ALERTS_HTTP_PORT, 8004)")]
Token = Annotated[str | None, typer.Option(envvar="PINGAN_TOKEN", help="an admin's token")]
Channel = Annotated[str | None, typer.Option(help="webhook, email, inbox or stream")]
Recipient = Annotated[str | None, typer.Option(help="the contact it was sent to, e.g. person:张三")]
AlertId = Annotated[str | None, typer.Option("--alert", help="an alert id: dead letters that carry it")]
AsJson = Annotated[bool, typer.Option("--json", help="print the service's answer as one JSON object")]


def _filters(channel: str | None, recipient: str | None, alert_id: str | None) -> dict[str, str]:
    if channel is not None and channel not in CHANNELS:
        raise typer.BadParameter(f"one of {', '.join(CHANNELS)}", param_hint="--channel")
    given = {"channel": channel, "recipient": recipient, "alert_id": alert_id}
    return {k: v for k, v in given.items() if v is not None}


@deliveries_app.command("list")
def list_dead_letters(
    channel: Channel = None,
    recipient: Recipient = None,
    alert_id: AlertId = None,
    status: Annotated[str, typer.Option(help="open (not re-sent), resent or all")] = "open",
    limit: Annotated[int, typer.Option(min=1, max=500, help="at most this many")] = 50,
    after: Annotated[int | None, typer.Option(min=0, help="those after this id (a page's last)")] = None,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List dead letters, oldest first, as a table."""
    if status not in ("open", "resent", "all"):
        raise typer.BadParameter("open, resent or all", param_hint="--status")
    params: dict[str, Any] = {**_filters(channel, recipient, alert_id), "status": status, "limit": limit}
    if after is not None:
        params["after"] = after
    answer = _call("GET", DEAD_LETTERS, url, token, params=params)
    if as_json:
        typer.echo(json.dumps(answer, ensure_ascii=False))
        return
    Console().print(dead_letter_table(answer["items"]))
    if answer["next_after"] is not None:
        typer.echo(f"更多 more: --after {answer['next_after']}", err=True)


def dead_letter_table(items: list[dict[str, Any]]) -> Table:
    """One row per dead letter; a bundle shows its first notification and how many more it carried."""
    table = Table(title=f"投递失败 dead letters: {len(items)}")
    for header in ("编号 ID", "告警 Alert", "类型 Kind", "环节 Step", "收件人 Recipient", "渠道 Channel",
                   "次数 Attempts", "原因 Reason", "时间 Failed at", "状态 Status"):
        table.add_column(header, overflow="fold")
    for item in items:
        notes = item["notifications"]
        first = notes[0] if notes else {}
        more = f" +{len(notes) - 1}" if len(notes) > 1 else ""
        status = item["status"] if item["resent_by"] is None else f"resent by {item['resent_by']}"
        table.add_row(
            str(item["id"]), f"{first.get('alert_id', '')}{more}\n{first.get('dedup_key', '')}", first.get("kind", ""),
            f"{first.get('event', '')} {first.get('step', '')} {first.get('label', '')}", item["recipient"],
            item["channel"], str(item["attempts"]), item["reason"], item["failed_at"], status)
    return table


@deliveries_app.command("resend")
def resend(
    dead_letter_id: Annotated[int | None, typer.Argument(metavar="ID", min=1, help="the dead letter")] = None,
    all_open: Annotated[bool, typer.Option("--all", help="every open dead letter the filters match")] = False,
    channel: Channel = None,
    recipient: Recipient = None,
    alert_id: AlertId = None,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Re-send one dead letter (ID), or with --all every open one the filters match."""
    filters = _filters(channel, recipient, alert_id)
    if (dead_letter_id is None) == (not all_open):
        raise typer.BadParameter("give an ID or --all (one of them)", param_hint="ID")
    if dead_letter_id is not None and filters:
        raise typer.BadParameter("--channel, --recipient and --alert go with --all", param_hint="ID")
    if dead_letter_id is not None:
        answer = _call("POST", f"{DEAD_LETTERS}/{dead_letter_id}/resend", url, token)
        if as_json:
            typer.echo(json.dumps(answer, ensure_ascii=False))
            return
        typer.echo(f"已重发 re-sent: #{answer['id']} → {answer['recipient']} ({answer['channel']}) "
                   f"at {answer['resent_at']} by {answer['resent_by']}")
        return
    answer = _call("POST", f"{DEAD_LETTERS}/resend", url, token, json=filters)
    if as_json:
        typer.echo(json.dumps(answer, ensure_ascii=False))
        return
    typer.echo(f"已重发 re-sent: {answer['resent']}" + (f" ({', '.join(f'#{i}' for i in answer['ids'])})"
                                                       if answer["ids"] else ""))
    for skipped in answer["skipped"]:
        typer.echo(f"  未重发 skipped #{skipped['id']}: {skipped['reason']}")


def _call(method: str, path: str, url: str | None, token: str | None, **kwargs: Any) -> dict[str, Any]:
    return call_api("alerts", "alerts", method, path, url=url, token=token, told=(404, 409), **kwargs)
