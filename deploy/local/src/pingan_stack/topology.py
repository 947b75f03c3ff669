"""What the stack is made of: the console and the four services, their ports, databases and env names.

The same names are used by `pingan up`, docker-compose.yml and deploy/k8s.
"""

from __future__ import annotations

from dataclasses import dataclass

from pingan_shared.events.catalog import CATALOG, deadletter_topic


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    default_port: int  # the API
    default_metrics_port: int  # /metrics, apart from the API: only operators reach it
    # An issuer of bearer tokens (the console) gets the signing key's path; every other service verifies only, with
    # the public JWKS (pingan_stack.stack_auth)
    issues_tokens: bool = False

    @property
    def env_prefix(self) -> str:
        return f"{self.name.upper()}_"

    @property
    def database(self) -> str:
        return f"pingan_{self.name}"

    @property
    def module(self) -> str:
        return self.name


SERVICES = (
    ServiceSpec("patrol", 8001, 9001),
    ServiceSpec("roster", 8002, 9002),
    ServiceSpec("inspection", 8003, 9003),
    ServiceSpec("alerts", 8004, 9004),
)

# The console: a process of the stack with its own port and database, but no events (no topics, no dead letters):
# it calls the four services over HTTP. Not in SERVICES, which are the services with topics, outboxes and timers.
CONSOLE = ServiceSpec("console", 8000, 9000, issues_tokens=True)

# Every process `pingan up` runs, in the order it prints them: the console first, the address people open.
PROCESSES = (CONSOLE, *SERVICES)


def all_topics(prefix: str = "") -> list[str]:
    names = set(CATALOG.topics()) | {deadletter_topic(s.name) for s in SERVICES}
    return sorted(f"{prefix}{n}" for n in names)


def with_database(server_url: str, database: str) -> str:
    """Swap the database name in a postgresql:// URL (keeps credentials, host and query)."""
    head, _, tail = server_url.partition("://")
    authority, _, rest = tail.partition("/")
    _, _, query = rest.partition("?")
    return f"{head}://{authority}/{database}" + (f"?{query}" if query else "")


def service_env(spec: ServiceSpec, *, database_url: str, port: int, metrics_port: int,
                host: str = "127.0.0.1") -> dict[str, str]:
    """The service's own settings; platform settings (KAFKA_*, PINGAN_*) are passed through as they are. Its
    metrics stay on loopback: on one machine, the operator is whoever is logged in to it."""
    return {
        f"{spec.env_prefix}DATABASE_URL": database_url,
        f"{spec.env_prefix}HTTP_PORT": str(port),
        f"{spec.env_prefix}HTTP_HOST": host,
        f"{spec.env_prefix}METRICS_PORT": str(metrics_port),
        f"{spec.env_prefix}METRICS_HOST": "127.0.0.1",
    }
