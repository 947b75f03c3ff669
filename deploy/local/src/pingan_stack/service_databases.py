"""Where an operator command finds a service's database: as `pingan up` sets it.

``<SERVICE>_DATABASE_URL``, else ``pingan_<service>`` on the server of ``DATABASE_URL``, else the embedded
server on ``PINGAN_PG_PORT``. Shared by the commands that read service databases (outbox, timers).
"""

from __future__ import annotations

from collections.abc import Mapping

import typer

from pingan_stack.topology import SERVICES, ServiceSpec, with_database

_EMBEDDED_SERVER = "postgresql://postgres@127.0.0.1:{port}/postgres"


def service_database_url(spec: ServiceSpec, environ: Mapping[str, str]) -> str:
    own = environ.get(f"{spec.env_prefix}DATABASE_URL")
    if own:
        return own
    server = environ.get("DATABASE_URL") or _EMBEDDED_SERVER.format(port=environ.get("PINGAN_PG_PORT", "54320"))
    return with_database(server, spec.database)


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    head, _, tail = url.partition("://")
    credentials, at, rest = tail.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{head}://{credentials.split(':', 1)[0]}:***@{rest}"


def service_named(name: str) -> ServiceSpec:
    """The service a ``--service`` option names, or a usage error listing the choices."""
    for spec in SERVICES:
        if spec.name == name:
            return spec
    raise typer.BadParameter(f"unknown service {name}; choose from {', '.join(s.name for s in SERVICES)}",
                             param_hint="--service")
