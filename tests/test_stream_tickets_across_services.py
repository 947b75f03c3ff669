"""A stream ticket opens the streams of the service that issued it, and no other: patrol's ticket is a 401 naming
`ticket` on alerts' /v1/stream, alerts' on patrol's live coverage stream, while each still opens its own service's
stream (once). Both services run as they do in production, each on its own database, the same secret."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from alerts.bootstrap import bootstrap as alerts_bootstrap
from alerts.delivery.live import hub_for
from alerts.settings import AlertsSettings
from patrol.bootstrap import bootstrap as patrol_bootstrap
from patrol.live.settings import LiveCoverageSettings
from patrol.settings import PatrolSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import SAMPLE_TIME, bearer, running_service, serving_on_loopback

ADMIN = bearer(Role.ADMIN, "平安办管理员", issued_at=SAMPLE_TIME)  # a reader of both streams
PATROL_STREAM = "/v1/coverage/live/stream"


async def ticket_from(client: httpx.AsyncClient) -> str:
    response = await client.post("/v1/stream-tickets", headers=ADMIN)
    assert response.status_code == 201, response.text
    ticket: str = response.json()["ticket"]
    return ticket


async def refused_opening(client: httpx.AsyncClient, path: str, ticket: str) -> httpx.Response:
    """GET a stream with ``ticket``, where a refusal is expected: bounded, since a stream opened by mistake would
    never end."""
    try:
        return await asyncio.wait_for(client.get(path, params={"ticket": ticket}), 10)
    except TimeoutError:
        raise AssertionError(f"the ticket opened {path}") from None


def refused_as_another_services(response: httpx.Response, issuer: str, service: str) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["errors"] == [{"field": "ticket", "reason": body["detail"]}], body
    assert f"a ticket of {issuer} opens no stream of {service}" in body["detail"], body


async def test_a_ticket_opens_the_stream_of_its_own_service_only(
    database_factory: Callable[[], Awaitable[str]], platform_settings: PlatformSettings,
) -> None:
    clock = FixedClock(SAMPLE_TIME)
    patrol = patrol_bootstrap(platform=platform_settings, clock=clock, live=LiveCoverageSettings(enabled=False),
                              settings=PatrolSettings(database_url=await database_factory()))
    alerts = alerts_bootstrap(platform=platform_settings, clock=clock,
                              settings=AlertsSettings(database_url=await database_factory()))
    async with running_service(patrol) as patrol_client, serving_on_loopback(alerts) as alerts_url, \
            httpx.AsyncClient(base_url=alerts_url, timeout=20) as alerts_client:
        await hub_for(alerts.app.state.alerts).listening()
        patrol_ticket = await ticket_from(patrol_client)
        alerts_ticket = await ticket_from(alerts_client)

        refused_as_another_services(await refused_opening(alerts_client, "/v1/stream", patrol_ticket),
                                    "patrol", "alerts")
        refused_as_another_services(await refused_opening(patrol_client, PATROL_STREAM, alerts_ticket),
                                    "alerts", "patrol")

        # alerts' own ticket opens alerts' stream, once (refused on patrol, it was not used up there or here)
        async with alerts_client.stream("GET", "/v1/stream", params={"ticket": alerts_ticket}) as opened:
            assert opened.status_code == 200
            async for line in opened.aiter_lines():
                if line.startswith("event:"):
                    assert line.removeprefix("event:").strip() == "ready"
                    break
        again = await refused_opening(alerts_client, "/v1/stream", alerts_ticket)
        assert again.status_code == 401 and again.json()["errors"][0]["field"] == "ticket", again.text
        # patrol's own ticket passes patrol's ticket check: its stream app is off in this test, so 503, not 401
        own = await patrol_client.get(PATROL_STREAM, params={"ticket": patrol_ticket})
        assert own.status_code == 503, own.text
