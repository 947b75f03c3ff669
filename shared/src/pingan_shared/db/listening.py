"""A pooled connection held to LISTEN on a channel (the outbox relay's and the timer runners' wake-ups): taken from the
pool and always handed back, also when the LISTEN itself fails or is cancelled."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import asyncpg

Callback = Callable[..., object]


async def listen(pool: asyncpg.Pool, channel: str, callback: Callback) -> asyncpg.Connection:
    """A connection of ``pool`` LISTENing on ``channel``; ``callback`` is called on each notification."""
    listener: asyncpg.Connection = await pool.acquire()
    try:
        await listener.add_listener(channel, callback)
    except BaseException:
        # cancelled (the service stopping) or failed before the caller holds it: hand it back here, or the pool never
        # closes (pool.close() waits for every connection to come home)
        await pool.release(listener)
        raise
    return listener


async def unlisten(pool: asyncpg.Pool, listener: asyncpg.Connection | None, channel: str,
                   callback: Callback) -> None:
    """Stop ``listener`` listening and hand it back to ``pool`` (nothing for None; a broken one is let go quietly)."""
    if listener is None:
        return
    with contextlib.suppress(Exception):
        await listener.remove_listener(channel, callback)
    with contextlib.suppress(Exception):
        await pool.release(listener)
