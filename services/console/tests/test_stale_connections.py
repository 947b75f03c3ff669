"""A service closing a kept-alive connection just as the console reuses it (httpx's ReadError, seen on a loaded
machine as a 503 page for a list that was there): a read is asked again once, on a new connection; a change is
never sent twice, and a service that keeps failing is still the 503 naming it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from console.domain.accounts import Account, Scope
from console.services import ServiceClients, ServiceUnavailable
from console.tokens import TokenMinter

from pingan_shared.auth import Role, SigningKey
from pingan_shared.clock import FixedClock

NOW = datetime(2026, 12, 7, 8, tzinfo=UTC)


def caller(failures: int, seen: list[str]) -> tuple[ServiceClients, Account]:
    """A patrol whose first ``failures`` requests drop the connection, then answers."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) <= failures:
            raise httpx.ReadError("connection closed by the server", request=request)
        return httpx.Response(200, json={"items": []})

    minter = TokenMinter(SigningKey.generate(), FixedClock(NOW), timedelta(minutes=5))
    clients = ServiceClients({"patrol": "http://patrol.test"}, minter,
                             transports={"patrol": httpx.MockTransport(answer)})
    account = Account("zhang", "张组织", Role.ORGANISER, Scope(), False, NOW, NOW)
    return clients, account


async def test_a_read_on_a_connection_the_service_closed_is_asked_again_once() -> None:
    seen: list[str] = []
    clients, account = caller(1, seen)
    assert await clients.as_person(account).get("patrol", "/v1/rounds") == {"items": []}
    assert seen == ["GET", "GET"]
    await clients.stop()


async def test_a_change_is_never_sent_twice_and_a_service_failing_again_is_unavailable() -> None:
    seen: list[str] = []
    clients, account = caller(1, seen)
    with pytest.raises(ServiceUnavailable):
        await clients.as_person(account).post("patrol", "/v1/rounds", json={})
    assert seen == ["POST"]
    seen.clear()
    clients, account = caller(2, seen)
    with pytest.raises(ServiceUnavailable):
        await clients.as_person(account).get("patrol", "/v1/rounds")
    assert seen == ["GET", "GET"]
