"""One admin call of an operator command to a service's API, with the exits every such command gives: the answer's
JSON on 200; the service's own words and exit 1 for an answer the command expects a person to act on (an unknown
year or dead letter, a conflict); exit 2 for a service that is unreachable or refuses otherwise."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import httpx
import typer

from pingan_shared.auth import Role
from pingan_stack.auth_cli import cli_token
from pingan_stack.endpoints import api_to_call


def call_api(command: str, service: str, method: str, path: str, *, url: str | None, token: str | None,
             told: Collection[int] = (404,), **kwargs: Any) -> dict[str, Any]:
    """``method path`` on ``service`` (``url``, else the stack's as ``pingan up`` set it), as ``token`` or an admin
    token signed with the issuer's key (``cli_token``); ``told``: the statuses answered with the service's words and
    exit 1."""
    api = api_to_call(service, url)
    typer.echo(f"pingan {command}: {service} at {api.describe()}", err=True)
    headers = {"Authorization": f"Bearer {token or cli_token(Role.ADMIN)}"}
    try:
        response = httpx.request(method, f"{api.address}{path}", headers=headers, timeout=60, **kwargs)
    except httpx.HTTPError as exc:
        typer.echo(f"{service} at {api.describe()} unreachable: {exc}", err=True)
        raise typer.Exit(2) from exc
    if response.status_code in told:
        typer.echo(response.json().get("detail", response.text), err=True)
        raise typer.Exit(1)
    if response.status_code != 200:
        typer.echo(f"{service} refused ({response.status_code}): {response.text[:500]}", err=True)
        raise typer.Exit(2)
    answer: dict[str, Any] = response.json()
    return answer
