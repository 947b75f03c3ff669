"""The simulator's HTTP: public APIs only, tokens signed with the stack's key on the services' clock, and a phone's
patience — a request the chaos refused (connection refused or reset, a timeout, 502/503) is sent again, the same
body with the same ids, until the service answers. Every write the simulator makes is idempotent by its ids
(scan ids, client hazard ids, finding keys, a plan's or a checkpoint's id), so a retry of a request that did land
is answered as a duplicate, never applied twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from pingan_shared.auth import Role, SigningKey, issue_token
from pingan_shared.clock import Clock

RETRIED_STATUSES = (502, 503, 504)


class ApiRefused(RuntimeError):
    """A 4xx/5xx answer the simulator did not expect (its plan is wrong, or a service is)."""

    def __init__(self, method: str, url: str, status: int, text: str) -> None:
        super().__init__(f"{method} {url}: {status} {text[:500]}")
        self.status = status
        self.text = text


@dataclass
class Answer:
    status: int
    body: Any
    retried: int  # attempts the chaos refused before this answer
    uncertain: bool  # an earlier attempt may have landed (its answer was lost): a 409 now may be our own write


@dataclass
class Tokens:
    key: SigningKey
    clock: Clock
    ttl: timedelta = timedelta(days=90)
    _cache: dict[tuple[Any, ...], tuple[datetime, str]] = field(default_factory=dict)

    @classmethod
    def from_data_dir(cls, data_dir: Path, clock: Clock) -> Tokens:
        return cls(SigningKey.load(data_dir / "auth" / "signing-key.pem"), clock)

    def header(self, role: Role, subject: str, **claims: str | None) -> dict[str, str]:
        cache_key = (role, subject, tuple(sorted(claims.items())))
        now = self.clock.now()
        cached = self._cache.get(cache_key)
        if cached is None or now - cached[0] > self.ttl / 3:
            token = issue_token(self.key, role=role, subject=subject, issued_at=now - timedelta(minutes=5),
                                ttl=self.ttl, **claims)
            cached = (now, token)
            self._cache[cache_key] = cached
        return {"Authorization": f"Bearer {cached[1]}"}


@dataclass
class Api:
    urls: dict[str, str]
    http: httpx.AsyncClient
    give_up_after: float = 180.0  # real seconds: longer than any restart the supervisor makes
    on_retry: Callable[[str], None] | None = None
    calls: int = 0
    retries: int = 0

    async def call(self, service: str, method: str, path: str, headers: dict[str, str], *,
                   ok: tuple[int, ...] = (200, 201, 202), **kwargs: Any) -> Answer:
        url = self.urls[service] + path
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.give_up_after
        retried, uncertain, delay = 0, False, 0.2
        self.calls += 1
        while True:
            try:
                response = await self.http.request(method, url, headers=headers, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never reached the service
                problem = f"{type(exc).__name__}"
            except httpx.TransportError as exc:  # sent, answer lost: it may have landed
                problem, uncertain = f"{type(exc).__name__}", True
            else:
                if response.status_code not in RETRIED_STATUSES:
                    body = _body(response)
                    if response.status_code not in ok:
                        raise ApiRefused(method, url, response.status_code, response.text)
                    return Answer(response.status_code, body, retried, uncertain)
                problem = f"HTTP {response.status_code}"
                uncertain = uncertain or response.status_code != 503
            retried += 1
            self.retries += 1
            if self.on_retry is not None:
                self.on_retry(f"{service} {method} {path}: {problem}, retrying")
            if loop.time() > deadline:
                raise ApiRefused(method, url, 0, f"gave up after {retried} attempts: {problem}")
            await asyncio.sleep(delay)
            delay = min(delay * 1.6, 2.0)

    async def get(self, service: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        return (await self.call(service, "GET", path, headers, **kwargs)).body

    async def pages(self, service: str, path: str, headers: dict[str, str], params: dict[str, Any] | None = None,
                    *, limit: int = 200) -> list[Any]:
        """Every item of a paged listing ({"items", "next_after"})."""
        items: list[Any] = []
        after: Any = None
        while True:
            query = {**(params or {}), "limit": limit} | ({"after": after} if after is not None else {})
            page = await self.get(service, path, headers, params=query)
            items += page["items"]
            after = page.get("next_after")
            if not after or not page["items"]:
                return items


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
