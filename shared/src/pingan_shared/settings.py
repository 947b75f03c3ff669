"""Typed configuration from the environment (pydantic-settings).

Two layers, the same names in the embedded stack, docker compose and Kubernetes:

* ``PlatformSettings`` — what every service shares and must agree on: ``PINGAN_ENV``,
  ``KAFKA_BOOTSTRAP_SERVERS``, the token issuer's public keys (``PINGAN_AUTH_JWKS`` ...), ``PINGAN_TIMEZONE`` ...
* ``ServiceSettings`` subclasses — one env prefix per service (``PATROL_``, ``ROSTER_``, ...)
  for what is the service's own: its database, its HTTP port, its metrics port.

No setting holds a secret that mints tokens for a service: services get the issuer's public keys (docs/auth.md),
and only an issuer reads ``PINGAN_AUTH_SIGNING_KEY_FILE``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pingan_shared.auth.claims import ISSUER, Role


class PlatformSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    pingan_env: Literal["dev", "test", "prod"] = "dev"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = Field(default="", description="prefix for every topic and consumer group")
    kafka_topic_partitions: int = Field(default=6, ge=1, le=1000)
    kafka_replication_factor: int = Field(default=1, ge=1, le=10)
    # How long a silent consumer keeps its partitions. Shorter = faster takeover after a crash
    # (the embedded broker also waits on it when members join), longer = fewer spurious rebalances.
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1_000, le=300_000)
    kafka_heartbeat_interval_ms: int = Field(default=1_000, ge=100, le=60_000)
    # Bearer tokens (docs/auth.md). A service verifies with the issuer's public keys, from exactly one of: the JWKS
    # itself (JSON), a file holding it, or the URL the issuer publishes it at (fetched and cached). Only an issuer
    # (the console, `pingan token issue`) reads the signing key file.
    pingan_auth_jwks: str | None = None
    pingan_auth_jwks_file: Path | None = None
    pingan_auth_jwks_url: str | None = None
    # A fetched JWKS is fetched again for a kid it lacks at most this often, and at least this often regardless
    pingan_auth_jwks_refetch_seconds: float = Field(default=30, ge=0)
    pingan_auth_jwks_max_age_seconds: float = Field(default=600, gt=0)
    pingan_auth_signing_key_file: Path | None = None
    # An outside OpenID Connect provider as the issuer: its `iss`, the `aud` its tokens carry for us, and where its
    # claims hold the principal (a dotted path walks into objects; the role map translates its role names).
    pingan_auth_issuer: str = ISSUER
    pingan_auth_audience: str | None = None
    pingan_auth_role_claim: str = "role"
    pingan_auth_role_map: Annotated[dict[str, Role], NoDecode] = Field(default_factory=dict)
    pingan_auth_subject_claim: str = "sub"
    pingan_auth_scope_claim: str = "scope"
    pingan_auth_unit_claim: str = "unit"
    pingan_auth_team_claim: str = "team"
    pingan_timezone: str = "Asia/Shanghai"
    pingan_clock_scale: float = Field(default=1.0, gt=0, description="1 = real time; 60 = a minute per second")
    # Compressed time runs from this instant: scaled "now" = epoch + (wall clock - epoch) * scale, so every
    # process agrees and a restart continues forward. Required when the scale is not 1: a default (each
    # process's own start) is exactly what made replicas disagree.
    pingan_clock_epoch: datetime | None = Field(default=None, description="ISO 8601 with a UTC offset")
    pingan_log_level: str = "INFO"

    @field_validator("pingan_auth_jwks", "pingan_auth_jwks_file", "pingan_auth_jwks_url",
                     "pingan_auth_signing_key_file", "pingan_auth_audience", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # compose writes `NAME: ${NAME:-}`: an empty value means "not set", never a file named "" or an audience ""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("pingan_auth_jwks_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("pingan_auth_role_map", mode="before")
    @classmethod
    def _role_map_from_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return {}
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ValueError(f"not JSON: {exc}") from exc
            if not isinstance(value, dict):
                raise ValueError('a JSON object: {"provider role": "our role", ...}')
        return value

    @field_validator("pingan_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("pingan_clock_epoch")
    @classmethod
    def _epoch_with_offset(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("needs a UTC offset (e.g. 2026-11-01T08:00:00+08:00): hosts may differ in time zone")
        return value

    @model_validator(mode="after")
    def _scaled_clock_has_an_epoch(self) -> PlatformSettings:
        if self.pingan_clock_scale != 1.0 and self.pingan_clock_epoch is None:
            raise ValueError(
                "PINGAN_CLOCK_EPOCH (the instant compressed time runs from, with a UTC offset) is required when "
                "PINGAN_CLOCK_SCALE is not 1, so every process agrees on the time"
            )
        return self

    @model_validator(mode="after")
    def _heartbeat_within_session(self) -> PlatformSettings:
        if self.kafka_heartbeat_interval_ms * 3 > self.kafka_session_timeout_ms:
            raise ValueError("KAFKA_HEARTBEAT_INTERVAL_MS must be at most a third of KAFKA_SESSION_TIMEOUT_MS")
        return self

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.pingan_timezone)

    def topic(self, name: str) -> str:
        return f"{self.kafka_topic_prefix}{name}"


class ServiceSettings(BaseSettings):
    """Base for a service's own settings; subclasses set ``env_prefix``."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    # Prometheus metrics are served on a port of their own, never on the API port: by route and status they count
    # sealed work (covert findings recorded, since when), so only operators may reach them (DESIGN §6). Loopback by
    # default; 0.0.0.0 only where a scraper elsewhere must reach it and nobody else can (a container network, a
    # NetworkPolicy). 0 = an ephemeral port, as for http_port.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9000, ge=0, le=65535)
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    # A session idle inside a transaction this long is ended by PostgreSQL, releasing its locks (a hung relay
    # or timer loop); keep it above the longest legitimate pause in a transaction (the relay awaiting acks).
    database_idle_in_transaction_timeout_seconds: float = Field(default=60, ge=1)
    # TCP keepalive, both ends: a vanished peer is noticed after idle + interval * count seconds.
    database_tcp_keepalives_idle_seconds: int = Field(default=30, ge=1, le=7200)
    database_tcp_keepalives_interval_seconds: int = Field(default=10, ge=1, le=600)
    database_tcp_keepalives_count: int = Field(default=3, ge=1, le=100)
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    # False makes an intake replica: it serves HTTP, relays its outbox and fires timers, but joins no consumer
    # group and runs none of the service's own background loops (stream apps, delivery workers; the loops its
    # routes need, ``ServiceRuntime.serving``, still run). Consumers then run on other replicas of the same
    # service, so intake has a core to itself. Keep at least one replica with true.
    run_consumers: bool = True
    consumer_batch_size: int = Field(default=500, ge=1, le=10_000)
    timer_poll_seconds: float = Field(default=1.0, gt=0)
    # A timer handler running longer is stopped and charged an attempt: keep it well below the idle-in-transaction
    # timeout above, or the server ends the session of the handler's whole batch first.
    timer_handler_timeout_seconds: float = Field(default=30, gt=0)
    max_request_bytes: int = Field(default=2_000_000, ge=1024)
    # Sent outbox rows are kept this long (audit, republishing by hand), then purged.
    outbox_retention_hours: int = Field(default=168, ge=1)
    # A broker that comes back having lost events it acknowledged (the embedded one after any restart; a real Kafka
    # after an unclean leader election): the relay publishes again the kept rows of the lost topics sent within this
    # many hours (messaging/broker_loss.py; 0: none, the loss is only reported). At most the outbox retention.
    outbox_republish_window_hours: float = Field(default=24, ge=0)
    # How often the relay compares what the broker acknowledged with its end offsets (also at its start and after
    # any failed batch): how late a loss on a partition it is not writing to is found.
    outbox_loss_check_seconds: float = Field(default=5, gt=0)
    # Inbox rows turn redeliveries into no-ops: keep them longer than the longest retention of the topics
    # the service consumes (deploy/k8s: 30 days), or a replay from the start would count old events again.
    inbox_retention_days: int = Field(default=35, ge=1)
    housekeeping_interval_seconds: float = Field(default=600, gt=0)

    @model_validator(mode="after")
    def _republish_within_retention(self) -> ServiceSettings:
        if self.outbox_republish_window_hours > self.outbox_retention_hours:
            prefix = str(self.model_config.get("env_prefix", "")).upper()
            raise ValueError(f"{prefix}OUTBOX_REPUBLISH_WINDOW_HOURS ({self.outbox_republish_window_hours:g}) must not "
                             f"exceed {prefix}OUTBOX_RETENTION_HOURS ({self.outbox_retention_hours}): only kept rows "
                             "can be published again")
        return self

    @model_validator(mode="after")
    def _metrics_apart_from_the_api(self) -> ServiceSettings:
        if self.metrics_port and self.metrics_port == self.http_port:
            prefix = str(self.model_config.get("env_prefix", "")).upper()
            raise ValueError(f"{prefix}METRICS_PORT must differ from {prefix}HTTP_PORT ({self.http_port}): the "
                             "metrics are served apart from the API")
        return self


def explain(exc: ValidationError, env_prefix: str = "") -> str:
    """A settings error as one line an operator can act on (env names, not pydantic internals)."""
    parts = []
    for error in exc.errors():
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        names = [str(p).upper() for p in error.get("loc", ())]
        parts.append(f"{env_prefix}{'.'.join(names)}: {message}" if names else message)
    return "; ".join(parts)
