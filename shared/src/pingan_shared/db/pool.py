"""asyncpg pool with JSON codecs and bounded connection liveness, created by bootstrap (never at import time).

Why liveness matters here: the outbox relay and the timer loop hold advisory locks and row locks inside
transactions. If a process hangs mid-transaction, or its host vanishes and leaves a half-open TCP
connection, PostgreSQL would keep that session (and its locks) for hours: Linux's default keepalive
starts probing after two hours. So the server ends a transaction left idle, both ends probe a silent
peer, and another replica takes over within about a minute.
"""

from __future__ import annotations

import contextlib
import json
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import asyncpg


class LivenessSettings(Protocol):
    @property
    def database_idle_in_transaction_timeout_seconds(self) -> float: ...

    @property
    def database_tcp_keepalives_idle_seconds(self) -> int: ...

    @property
    def database_tcp_keepalives_interval_seconds(self) -> int: ...

    @property
    def database_tcp_keepalives_count(self) -> int: ...


@dataclass(frozen=True)
class ConnectionLiveness:
    # A session idle in a transaction beyond this is ended (its transaction rolled back, its locks freed).
    # The relay pauses inside its transaction, lock held, between reading a batch and marking it sent: it
    # waits for the batch's acks (request timeout 15 s) and, when the broker refused that batch, once more
    # for each of its rows re-sent alone, one after the other (each up to 15 s again). A broker that stops
    # answering ends that within a request timeout (the relay gives the batch up); one that answers each
    # re-send slowly could pass the minute: the session is then ended, nothing is marked sent, and the batch
    # is published again (duplicates, which the consumers' inboxes absorb).
    idle_in_transaction_timeout: timedelta = timedelta(minutes=1)
    # A silent peer is probed after ``keepalives_idle`` s, every ``keepalives_interval`` s, and given up
    # after ``keepalives_count`` unanswered probes: 30 + 10 * 3 = one minute.
    keepalives_idle_seconds: int = 30
    keepalives_interval_seconds: int = 10
    keepalives_count: int = 3

    @classmethod
    def from_settings(cls, settings: LivenessSettings) -> ConnectionLiveness:
        return cls(
            idle_in_transaction_timeout=timedelta(seconds=settings.database_idle_in_transaction_timeout_seconds),
            keepalives_idle_seconds=settings.database_tcp_keepalives_idle_seconds,
            keepalives_interval_seconds=settings.database_tcp_keepalives_interval_seconds,
            keepalives_count=settings.database_tcp_keepalives_count,
        )

    def server_settings(self) -> dict[str, str]:
        """The backend's side: it ends idle transactions and probes a client that went silent.
        (PostgreSQL ignores the keepalive settings on Unix-socket connections.)"""
        return {
            "idle_in_transaction_session_timeout": str(int(self.idle_in_transaction_timeout.total_seconds() * 1000)),
            "tcp_keepalives_idle": str(self.keepalives_idle_seconds),
            "tcp_keepalives_interval": str(self.keepalives_interval_seconds),
            "tcp_keepalives_count": str(self.keepalives_count),
        }

    def apply_to_client_socket(self, conn: asyncpg.Connection) -> None:
        """The client's side, so a process notices a database server that vanished. asyncpg has no
        option for it; its transport's socket is reachable only through a private attribute."""
        transport = getattr(conn, "_transport", None)
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None or sock.family == socket.AF_UNIX:
            return
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in (("TCP_KEEPIDLE", self.keepalives_idle_seconds),
                              ("TCP_KEEPINTVL", self.keepalives_interval_seconds),
                              ("TCP_KEEPCNT", self.keepalives_count)):
            if hasattr(socket, option):  # Linux names; other platforms keep their system defaults
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


async def _set_json_codecs(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name,
            encoder=lambda value: json.dumps(value, ensure_ascii=False),
            decoder=json.loads,
            schema="pg_catalog",
        )


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, liveness: ConnectionLiveness | None = None, **kwargs: Any
) -> asyncpg.Pool:
    liveness = liveness or ConnectionLiveness()

    async def init(conn: asyncpg.Connection) -> None:
        liveness.apply_to_client_socket(conn)
        await _set_json_codecs(conn)

    server_settings = {**liveness.server_settings(), **kwargs.pop("server_settings", {})}
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=init, command_timeout=60,
        server_settings=server_settings, **kwargs,
    )
    assert pool is not None
    return pool
