"""Where the stack is, read from the environment the way `pingan up` reads it: one resolver for `pingan up` and for
every operator command, so that a stack moved to other ports is found with the same settings everywhere.

* the broker: ``KAFKA_BOOTSTRAP_SERVERS`` (external brokers), else the embedded one on 127.0.0.1:``PINGAN_KAFKA_PORT``
  (9092);
* a service's API: ``<SERVICE>_URL`` (a service elsewhere), else http://127.0.0.1:``<SERVICE>_HTTP_PORT`` (8001-8004),
  where `pingan up` serves it; its metrics port: ``<SERVICE>_METRICS_PORT`` (9001-9004);
* the database server: ``DATABASE_URL`` (an external server), else the embedded one on 127.0.0.1:``PINGAN_PG_PORT``
  (54320); a service's database: ``<SERVICE>_DATABASE_URL`` (the service's own setting), else ``pingan_<service>``
  on that server.

Each answer says which setting it came from (``Endpoint.source``), so a command can say what it read: an operator
whose stack runs on other ports sees at once when a command looked elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import typer

from pingan_stack.topology import SERVICES, ServiceSpec, with_database

T = TypeVar("T")

LOOPBACK = "127.0.0.1"
DEFAULT_KAFKA_PORT = 9092
DEFAULT_PG_PORT = 54320


class EndpointError(ValueError):
    """A setting that cannot name a place (a port that is not a port number)."""


@dataclass(frozen=True)
class Endpoint:
    """An address and the setting it came from (an environment variable, or ``default``)."""

    address: str
    source: str

    def describe(self) -> str:
        """``address (source)``, the password of a URL hidden."""
        return f"{redact(self.address)} ({self.source})"


def from_environment(resolve: Callable[[Mapping[str, str]], T]) -> T:
    """``resolve`` of this process's environment, for a command: a setting that names no place is a usage error
    (``configuration error: …`` on stderr, exit 2), never a traceback."""
    try:
        return resolve(os.environ)
    except EndpointError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc


def port(environ: Mapping[str, str], name: str, default: int) -> int:
    """The port number in ``name``, or ``default`` when it is unset or empty; 0 is a port (an ephemeral one)."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise EndpointError(f"{name}={raw!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise EndpointError(f"{name}={raw!r} is not a port number (0-65535)")
    return value


def kafka_port(environ: Mapping[str, str]) -> int:
    """Where `pingan up`'s embedded broker listens."""
    return port(environ, "PINGAN_KAFKA_PORT", DEFAULT_KAFKA_PORT)


def pg_port(environ: Mapping[str, str]) -> int:
    """Where `pingan up`'s embedded PostgreSQL listens."""
    return port(environ, "PINGAN_PG_PORT", DEFAULT_PG_PORT)


def external_kafka(environ: Mapping[str, str]) -> str | None:
    return environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip() or None


def external_database_server(environ: Mapping[str, str]) -> str | None:
    return environ.get("DATABASE_URL", "").strip() or None


def http_port(spec: ServiceSpec, environ: Mapping[str, str]) -> int:
    return port(environ, f"{spec.env_prefix}HTTP_PORT", spec.default_port)


def metrics_port(spec: ServiceSpec, environ: Mapping[str, str]) -> int:
    return port(environ, f"{spec.env_prefix}METRICS_PORT", spec.default_metrics_port)


def broker(environ: Mapping[str, str]) -> Endpoint:
    """The Kafka bootstrap servers the stack uses."""
    external = external_kafka(environ)
    if external:
        return Endpoint(external, "KAFKA_BOOTSTRAP_SERVERS")
    return Endpoint(f"{LOOPBACK}:{kafka_port(environ)}", _source(environ, "PINGAN_KAFKA_PORT"))


def service_url(spec: ServiceSpec, environ: Mapping[str, str]) -> Endpoint:
    """The base URL of a service's API."""
    own = environ.get(f"{spec.env_prefix}URL", "").strip()
    if own:
        return Endpoint(own.rstrip("/"), f"{spec.env_prefix}URL")
    name = f"{spec.env_prefix}HTTP_PORT"
    return Endpoint(f"http://{LOOPBACK}:{http_port(spec, environ)}", _source(environ, name))


def api_to_call(service: str, given: str | None) -> Endpoint:
    """The API a command calls: ``given`` (its ``--url``) when there is one, else ``service``'s as above."""
    if given:
        return Endpoint(given.rstrip("/"), "--url")
    spec = next(s for s in SERVICES if s.name == service)
    return from_environment(lambda environ: service_url(spec, environ))


def database_server(environ: Mapping[str, str]) -> Endpoint:
    """The PostgreSQL server holding the services' databases (a URL naming its maintenance database)."""
    external = external_database_server(environ)
    if external:
        return Endpoint(external, "DATABASE_URL")
    return Endpoint(f"postgresql://postgres@{LOOPBACK}:{pg_port(environ)}/postgres", _source(environ, "PINGAN_PG_PORT"))


def service_database(spec: ServiceSpec, environ: Mapping[str, str]) -> Endpoint:
    """A service's own database: its ``<SERVICE>_DATABASE_URL``, as the service itself reads it, else
    ``pingan_<service>`` on the server, as `pingan up` creates it."""
    own = environ.get(f"{spec.env_prefix}DATABASE_URL", "").strip()
    if own:
        return Endpoint(own, f"{spec.env_prefix}DATABASE_URL")
    server = database_server(environ)
    return Endpoint(with_database(server.address, spec.database), server.source)


def _source(environ: Mapping[str, str], name: str) -> str:
    return name if environ.get(name, "").strip() else f"default; {name} moves it"


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    head, separator, tail = url.partition("://")
    credentials, at, rest = tail.rpartition("@")
    if not separator or not at or ":" not in credentials:
        return url
    return f"{head}://{credentials.split(':', 1)[0]}:***@{rest}"
