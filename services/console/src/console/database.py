"""Where the use cases get their connections: the running service's pool (``ServiceRuntime``), or, for an
operator's command (``pingan users``), a pool of its own on the console's database."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from pingan_shared.db.errors import connection


class Database(Protocol):
    def connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]: ...


@dataclass(frozen=True)
class PoolDatabase:
    pool: asyncpg.Pool

    def connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        return connection(self.pool)
