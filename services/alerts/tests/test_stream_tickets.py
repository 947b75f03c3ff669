"""Stream tickets on alerts (POST /v1/stream-tickets, then GET /v1/stream?ticket=): a dashboard in a browser, whose
EventSource cannot send the Authorization header, opens the live stream with a one-minute ticket and sees what its
token would (a unit its own). A ticket opens the stream only, once, on whichever replica; a bearer token never goes
in the URL. (A ticket of another service: tests/test_stream_tickets_across_services.py.)"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx

from alerts.delivery.live import hub_for, notify_live
from pingan_shared.auth import LEEWAY, Role, TicketKey, issue_stream_ticket, issue_token
from pingan_stack.test_tokens import session_signing_key, session_verifier
from pingan_stack.testing import bearer

from .delivery_harness import DeliveryHarness, SseReader, serving_on_loopback


def minted_ticket(alerts: DeliveryHarness, role: Role, subject: str, *, key: TicketKey | None = None) -> str:
    """A ticket made directly with the service's own ticket key (for a role the ticket route would refuse), or with
    ``key`` (a key no process of alerts holds)."""
    now = alerts.clock.now()
    token = issue_token(session_signing_key(), role=role, subject=subject, issued_at=now)
    return issue_stream_ticket(key or alerts.service.app.state.edge.ticket_key,
                               session_verifier().check(token, now=now), now=now, audience="alerts").ticket


async def ticket_for(alerts: DeliveryHarness, headers: dict[str, str]) -> str:
    response = await alerts.client.post("/v1/stream-tickets", headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["expires_in"] == 60
    issued = alerts.clock.now().replace(microsecond=0)
    assert datetime.fromisoformat(body["expires_at"]) == issued + timedelta(seconds=60)
    ticket: str = body["ticket"]
    return ticket


def refused(response: httpx.Response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["field"] == field, response.text


async def test_a_ticket_opens_the_stream_without_a_header_and_a_unit_still_sees_only_its_own(
        delivery_service: Any) -> None:
    alerts = await delivery_service()
    await hub_for(alerts.ctx).listening()
    admin_ticket = await ticket_for(alerts, alerts.admin)
    unit_ticket = await ticket_for(alerts, alerts.auth(Role.UNIT, "塘下镇联络员", unit="塘下镇"))
    async with serving_on_loopback(alerts) as base, httpx.AsyncClient(base_url=base, timeout=20) as http, \
            http.stream("GET", "/v1/stream", params={"ticket": admin_ticket}) as admin_response, \
            http.stream("GET", "/v1/stream", params={"ticket": unit_ticket}) as unit_response:
        assert admin_response.status_code == 200
        assert admin_response.headers["content-type"].startswith("text/event-stream")
        admin, unit = SseReader(admin_response), SseReader(unit_response)
        assert await admin.next_event() == ("ready", {"subject": "平安办管理员"})
        assert await unit.next_event() == ("ready", {"subject": "塘下镇联络员"})

        async with alerts.db() as conn, conn.transaction():
            await notify_live(conn, "alert-raised", {"alert_id": "a-0", "unit_id": "莘塍街道", "area": "莘塍街道"})
            await notify_live(conn, "alert-raised", {"alert_id": "a-1", "unit_id": "塘下镇", "area": "塘下镇"})
        assert [(await admin.next_event())[1]["alert_id"] for _ in range(2)] == ["a-0", "a-1"]
        # the unit's ticket carries its unit: the 莘塍街道 alert never reaches it
        assert await unit.next_event() == ("alert-raised", {"alert_id": "a-1", "unit_id": "塘下镇",
                                                            "area": "塘下镇"})
        # an open stream outlives its ticket: the ticket is judged when the stream opens
        await alerts.advance(600)
        async with alerts.db() as conn, conn.transaction():
            await notify_live(conn, "alert-resolved", {"alert_id": "a-1", "unit_id": "塘下镇"})
        assert (await unit.next_event())[1]["alert_id"] == "a-1"


async def test_what_a_ticket_can_and_cannot_open(delivery_service: Any) -> None:
    alerts = await delivery_service()
    ticket = await ticket_for(alerts, alerts.admin)

    # a ticket is not a bearer token: not on an ordinary route, not on the stream's header, not for another ticket
    as_bearer = {"Authorization": f"Bearer {ticket}"}
    for method, path in (("GET", "/v1/alerts"), ("GET", "/v1/stream"), ("POST", "/v1/stream-tickets")):
        response = await alerts.client.request(method, path, headers=as_bearer)
        refused(response, 401, "Authorization")
        assert "not a bearer token" in response.json()["detail"]
    # a bearer token is not a ticket: never in a URL
    refused(await alerts.client.get("/v1/stream", params={"ticket": alerts.admin["Authorization"][7:]}), 401,
            "ticket")
    # forged (a key no process of alerts holds), garbled, empty
    forged = minted_ticket(alerts, Role.ADMIN, "平安办管理员", key=TicketKey.generate())
    for bad in (forged, "garbled", "", ticket[:-3]):
        refused(await alerts.client.get("/v1/stream", params={"ticket": bad}), 401, "ticket")
    # the header and a ticket at once: which one decides would be a guess
    refused(await alerts.client.get("/v1/stream", params={"ticket": ticket}, headers=alerts.admin), 401, "ticket")

    # roles: the ticket route allows the stream's readers only; a ticket of another role opens nothing
    for role in (Role.MEMBER, Role.INSPECTOR, Role.INTEGRATION, Role.ORGANISER, Role.SUPERVISION_MEMBER):
        refused(await alerts.client.post("/v1/stream-tickets", headers=alerts.auth(role, "someone")), 403,
                "Authorization")
    organiser_ticket = minted_ticket(alerts, Role.ORGANISER, "平安办")
    refused(await alerts.client.get("/v1/stream", params={"ticket": organiser_ticket}), 403, "ticket")
    assert (await alerts.client.post("/v1/stream-tickets")).status_code == 401

    # never longer-lived than the token it was asked with
    short = bearer(Role.ADMIN, "平安办管理员", issued_at=alerts.clock.now(), ttl=timedelta(seconds=20))
    response = await alerts.client.post("/v1/stream-tickets", headers=short)
    assert response.status_code == 201 and response.json()["expires_in"] <= 20, response.text

    # a minute (and the clock-skew leeway every token has) later the ticket opens nothing
    await alerts.advance(60 + LEEWAY.total_seconds() + 1)
    response = await alerts.client.get("/v1/stream", params={"ticket": ticket})
    refused(response, 401, "ticket")
    assert "expired" in response.json()["detail"]


async def refused_opening(harness: DeliveryHarness, ticket: str) -> httpx.Response:
    """GET /v1/stream with ``ticket``, where a refusal is expected: bounded, since a stream opened by mistake
    would never end."""
    try:
        return await asyncio.wait_for(harness.client.get("/v1/stream", params={"ticket": ticket}), 10)
    except TimeoutError:
        raise AssertionError("the ticket opened the stream") from None


async def first_event(base: str, ticket: str) -> tuple[str, Any]:
    """Open the stream over real HTTP with nothing but ``ticket``, read its first event, and close it."""
    async with httpx.AsyncClient(base_url=base, timeout=20) as http, \
            http.stream("GET", "/v1/stream", params={"ticket": ticket}) as response:
        assert response.status_code == 200, await response.aread()
        return await SseReader(response).next_event()


async def test_a_ticket_opens_the_stream_once_on_whichever_replica(delivery_service: Any) -> None:
    alerts = await delivery_service()
    other = await delivery_service(database_url=alerts.database_url)  # a second replica: the same database
    await hub_for(alerts.ctx).listening()
    ticket = await ticket_for(alerts, alerts.admin)
    async with serving_on_loopback(alerts) as base:
        assert await first_event(base, ticket) == ("ready", {"subject": "平安办管理员"})

        # the same ticket again: on this replica, and on the other one
        for replica in (alerts, other):
            again = await refused_opening(replica, ticket)
            refused(again, 401, "ticket")
            assert "opened a stream already" in again.json()["detail"]

        # a fresh ticket (from the other replica: they are one service) still opens the stream, once
        fresh = await ticket_for(other, alerts.auth(Role.UNIT, "塘下镇联络员", unit="塘下镇"))
        assert await first_event(base, fresh) == ("ready", {"subject": "塘下镇联络员"})
        refused(await refused_opening(other, fresh), 401, "ticket")


async def test_a_ticket_refused_beside_the_header_is_not_used_up_and_used_ids_are_pruned(delivery_service: Any) -> None:
    alerts = await delivery_service()
    await hub_for(alerts.ctx).listening()
    ticket = await ticket_for(alerts, alerts.admin)
    refused(await alerts.client.get("/v1/stream", params={"ticket": ticket}, headers=alerts.admin), 401, "ticket")
    async with serving_on_loopback(alerts) as base:
        assert (await first_event(base, ticket))[0] == "ready"

    # the ids of tickets no replica would accept any more are pruned as new ones are recorded
    async with alerts.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM stream_tickets_used") == 1
    await alerts.advance(60 + 2 * LEEWAY.total_seconds() + 1)
    later = await ticket_for(alerts, alerts.admin)
    async with serving_on_loopback(alerts) as base:
        assert (await first_event(base, later))[0] == "ready"
    async with alerts.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM stream_tickets_used") == 1
