"""Calling the four services as the signed-in person, over their public HTTP APIs only.

One ``httpx.AsyncClient`` per service, made on first use and closed when the console stops (connections are kept
and reused). Each call carries a token minted for the person a moment before (``tokens.TokenMinter``) and the
console request's id, so one action can be followed through every service's log.

What comes back:

* 2xx: the decoded JSON (``None`` for an empty body), or the response itself from ``raw`` (a CSV, a calendar, a
  photo);
* 4xx: ``ServiceRefused(status, detail, errors)`` in the services' one error shape ``{"detail", "errors": [{"field",
  "reason"}]}``: a page shows each reason next to the form field it names (``web.forms``);
* no answer, a 5xx, or a refusal of the console's own token (a key the service does not know): ``ServiceUnavailable``,
  which every page answers with the 503 page naming the service (``web.errors``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from console.domain.accounts import Account
from console.tokens import TokenMinter

WALK_PAGE = 500  # the services' largest page
WALK_MOST = 5000  # what one walk reads at most (a map, a picker, a board's list, a member's years of shifts)

SERVICE_LABELS: Mapping[str, tuple[str, str]] = {
    "patrol": ("巡逻服务", "patrol service"),
    "roster": ("排班服务", "roster service"),
    "inspection": ("暗访督查服务", "inspection service"),
    "alerts": ("预警服务", "alerts service"),
}


class ServiceRefused(Exception):
    """A service said no to the request (4xx): ``errors`` name the fields at fault, as the service named them
    (``body.name``, ``query.after``…)."""

    def __init__(self, service: str, status: int, detail: str, errors: Sequence[Mapping[str, str]] = ()) -> None:
        super().__init__(f"{service} {status}: {detail}")
        self.service, self.status, self.detail = service, status, detail
        self.errors = [{"field": str(e.get("field", "")), "reason": str(e.get("reason", ""))} for e in errors]


class ServiceUnavailable(Exception):
    """A service cannot serve the console now (down, failing, or refusing the console's tokens)."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service, self.reason = service, reason


@dataclass(frozen=True)
class Probe:
    """A service's /ready as the console sees it: its status code (0: no answer) and its body."""

    service: str
    status: int
    body: dict[str, Any]

    @property
    def ready(self) -> bool:
        return self.status == 200


@dataclass
class ServiceClients:
    """The console's clients of the services, one each, made on first use and closed by ``stop`` (when the console
    stops)."""

    urls: Mapping[str, str]  # service name -> base URL
    minter: TokenMinter
    timeout_seconds: float = 10.0
    # Tests may hand a transport per service (an ASGI app in-process); the default is the network.
    transports: Mapping[str, httpx.AsyncBaseTransport] = field(default_factory=dict)
    _clients: dict[str, httpx.AsyncClient] = field(default_factory=dict, init=False)

    def client(self, service: str) -> httpx.AsyncClient:
        """The service's client, made on first use (in the event loop that serves the console) and kept."""
        client = self._clients.get(service)
        if client is None:
            url = self.urls.get(service)
            if url is None:
                raise ServiceUnavailable(service, "控制台未配置此服务 (the console has no address for it)")
            client = httpx.AsyncClient(base_url=url, timeout=self.timeout_seconds,
                                       transport=self.transports.get(service), follow_redirects=False)
            self._clients[service] = client
        return client

    async def stop(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            with contextlib.suppress(Exception):
                await client.aclose()

    def as_person(self, account: Account, correlation_id: UUID | None = None) -> ServiceCaller:
        return ServiceCaller(self, account, correlation_id)

    async def probe(self, service: str) -> Probe:
        """``GET /ready`` of ``service`` (no token needed): what an operator's overview shows."""
        try:
            response = await self.client(service).get("/ready")
        except httpx.HTTPError as exc:
            return Probe(service, 0, {"error": _describe(exc)})
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:200]}
        return Probe(service, response.status_code, body if isinstance(body, dict) else {"body": body})


SAFE_METHODS = frozenset({"GET", "HEAD"})
STALE_CONNECTION = (httpx.ReadError, httpx.RemoteProtocolError)
"""What a service closing a kept-alive connection under the console's request looks like."""


@dataclass(frozen=True)
class ServiceCaller:
    """Calls made as one person: ``await caller.get("roster", "/v1/shifts", params={...})``."""

    clients: ServiceClients
    account: Account
    correlation_id: UUID | None = None

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.clients.minter.for_account(self.account)}"}
        if self.correlation_id is not None:
            headers["X-Request-ID"] = str(self.correlation_id)
        return headers

    async def raw(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        """The service's 2xx answer as it came (for bytes: a CSV, a calendar, a photo); refusals raised."""
        client = self.clients.client(service)
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        for attempt in (1, 2):
            try:
                response = await client.request(method, path, headers=headers, **kwargs)
                break
            except STALE_CONNECTION as exc:
                # A kept-alive connection the service closed just as it was reused ("ReadError" on a busy
                # machine): a read is asked again once, on a new connection; a change is never sent twice.
                if method not in SAFE_METHODS or attempt == 2:
                    raise ServiceUnavailable(service, _describe(exc)) from exc
            except httpx.HTTPError as exc:
                raise ServiceUnavailable(service, _describe(exc)) from exc
        _raise_for(service, response)
        return response

    async def request(self, method: str, service: str, path: str, **kwargs: Any) -> Any:
        response = await self.raw(method, service, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ServiceUnavailable(service, "答复不是 JSON (the answer is not JSON)") from exc

    async def get(self, service: str, path: str, **kwargs: Any) -> Any:
        return await self.request("GET", service, path, **kwargs)

    async def walk(self, service: str, path: str, params: Mapping[str, str] | None = None, *,
                   most: int = WALK_MOST) -> list[dict[str, Any]]:
        """Every item of one of ``service``'s paged lists (``items`` + ``next_after``; ``limit`` and ``after``), page
        after page, up to ``most`` items."""
        items: list[dict[str, Any]] = []
        after: str | None = None
        while len(items) < most:
            query = {**(params or {}), "limit": str(min(WALK_PAGE, most - len(items))),
                     **({"after": after} if after else {})}
            page = await self.get(service, path, params=query)
            found = page.get("items", []) if isinstance(page, dict) else []
            items.extend(found)
            cursor = page.get("next_after") if isinstance(page, dict) else None
            after = str(cursor) if cursor not in (None, "") else None
            if after is None or not found:
                break
        return items

    async def post(self, service: str, path: str, **kwargs: Any) -> Any:
        return await self.request("POST", service, path, **kwargs)

    async def put(self, service: str, path: str, **kwargs: Any) -> Any:
        return await self.request("PUT", service, path, **kwargs)

    async def delete(self, service: str, path: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", service, path, **kwargs)

    @contextlib.asynccontextmanager
    async def stream(self, service: str, path: str, **kwargs: Any) -> AsyncIterator[httpx.Response]:
        """A streamed answer (Server-Sent Events), open while the block runs; a page relays its bytes. No read
        timeout: a quiet stream is not a dead one (the services send keep-alive comments)."""
        client = self.clients.client(service)
        timeout = httpx.Timeout(self.clients.timeout_seconds, read=None)
        try:
            async with client.stream("GET", path, headers=self._headers(), timeout=timeout, **kwargs) as response:
                if response.status_code >= 400:
                    await response.aread()
                    _raise_for(service, response)
                yield response
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(service, _describe(exc)) from exc


def _raise_for(service: str, response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = str(body.get("detail") or response.reason_phrase) if isinstance(body, dict) else response.reason_phrase
    if status >= 500:
        raise ServiceUnavailable(service, f"{status} {detail}")
    if status == 401:
        # The person was signed in here: a service refusing the console's token is a key it does not trust
        # (PINGAN_AUTH_JWKS*), the deployment's problem, not the person's.
        raise ServiceUnavailable(service, f"服务不接受控制台的令牌 (the service refused the console's token: {detail})")
    errors = body.get("errors") if isinstance(body, dict) else None
    named = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    raise ServiceRefused(service, status, detail, named)


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "无应答，已超时 (no answer in time)"
    if isinstance(exc, httpx.ConnectError):
        return "无法连接 (cannot connect)"
    return f"{type(exc).__name__}: {exc}"
