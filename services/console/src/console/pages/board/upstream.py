"""A service's Server-Sent-Events stream followed for the board, with its heartbeat: every line heard (an event, or
the keep-alive comment the services send while quiet) says the stream is alive, and an ended or failed stream is
opened again after a growing pause (1 s doubling to ``BACKOFF_MAX_SECONDS``), so the board catches up by itself
after a service or broker restart.

alerts' own relay (``pages/alerts/live.py``) drops the comment lines; the board needs them, to tell a quiet stream
from a dead one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from console.services import ServiceCaller, ServiceRefused, ServiceUnavailable
from console.web.sse_lines import EventLines

BACKOFF_MIN_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 10.0


@dataclass
class Health:
    """What the board knows of one source: whether its last read (or its stream) is good, since when (wall clock,
    epoch seconds), and why not."""

    ok: bool = False
    at: float | None = None  # the last good read or heartbeat
    reason: str = "连接中 (connecting)"
    refused: bool = False  # the service does not show this role the source: not stale, not to be retried soon
    held: str = ""  # what the source itself says is wrong though it answers (patrol's live view not current)

    def good(self) -> None:
        if self.held:
            self.ok, self.reason, self.refused = False, self.held, False
        else:
            self.ok, self.at, self.reason, self.refused = True, time.time(), "", False

    def hold(self, reason: str) -> None:
        """The source's own word on its data: ``reason`` why it is not current, or empty when it is."""
        self.held = reason
        self.good()

    def bad(self, reason: str, *, refused: bool = False) -> None:
        self.ok, self.reason, self.refused = False, reason, refused

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "at": self.at, "reason": self.reason, "refused": self.refused}


async def follow(caller: ServiceCaller, service: str, path: str, health: Health,
                 deliver: Callable[[str, dict[str, Any]], Awaitable[None]], *, params: dict[str, str] | None = None,
                 silence_seconds: float = 40.0) -> None:
    """Follow ``service``'s stream at ``path`` until cancelled: each event to ``deliver(kind, data)``, ``health``
    kept true (good on each line; bad on an error, an end, or ``silence_seconds`` without a line)."""
    backoff = BACKOFF_MIN_SECONDS
    while True:
        try:
            async with caller.stream(service, path, params=params or {}) as response:
                health.held = ""  # a new stream says its own state afresh
                health.good()
                backoff = BACKOFF_MIN_SECONDS
                await _read(response, health, deliver, silence_seconds)
            health.bad("数据流已结束，正在重连 (the stream ended; reconnecting)")
        except ServiceRefused as exc:
            refused = exc.status in (401, 403)
            health.bad(f"{exc.detail} ({exc.status})", refused=refused)
            if refused:
                backoff = BACKOFF_MAX_SECONDS * 3
        except (ServiceUnavailable, httpx.HTTPError) as exc:
            health.bad(f"{service} 无法连接 (not answering): {exc}")
        except TimeoutError:
            health.bad(f"{service} 长时间无心跳 (no heartbeat for {silence_seconds:.0f} s)")
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)


async def _read(response: httpx.Response, health: Health, deliver: Callable[[str, dict[str, Any]], Awaitable[None]],
                silence_seconds: float) -> None:
    events = EventLines()
    lines = response.aiter_lines().__aiter__()
    while True:
        try:
            line = await asyncio.wait_for(lines.__anext__(), silence_seconds)
        except StopAsyncIteration:
            return
        health.good()
        if (event := events.feed(line)) is not None:
            await deliver(*event)
