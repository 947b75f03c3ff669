"""Stream tickets on patrol (POST /v1/stream-tickets, then GET /v1/coverage/live/stream?ticket=): a dashboard in a
browser opens the live coverage stream without the Authorization header, and sees what its token would (a scoped
supervisor its township). A ticket opens the stream only, and once; a bearer token never goes in the URL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx

from pingan_shared.auth import LEEWAY, Role, TicketKey, issue_stream_ticket, issue_token
from pingan_shared.clock import FixedClock
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.test_tokens import session_signing_key, session_verifier
from pingan_stack.testing import bearer

from .test_live_coverage import NOW, ORGANISER, patrol, post_scans, publish_route, until_live_equals_record

STREAM = "/v1/coverage/live/stream"


def minted_ticket(service: Service, role: Role, subject: str, *, key: TicketKey | None = None,
                  audience: str = "patrol", **scope: str) -> str:
    """A ticket made directly with the service's own ticket key (for a role the ticket route would refuse, or of
    another service), or with ``key`` (another process's)."""
    token = issue_token(session_signing_key(), role=role, subject=subject, issued_at=NOW, **scope)
    return issue_stream_ticket(key or service.app.state.edge.ticket_key, session_verifier().check(token, now=NOW),
                               now=NOW, audience=audience).ticket


async def ticket_for(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post("/v1/stream-tickets", headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["expires_in"] == 60
    assert datetime.fromisoformat(body["expires_at"]) == NOW + timedelta(seconds=60)
    ticket: str = body["ticket"]
    return ticket


async def first_view(client: httpx.AsyncClient, ticket: str, **params: str) -> dict[str, Any]:
    """The stream's first event, opened with nothing but the ticket."""
    response = await client.get(STREAM, params={"ticket": ticket, "max_events": "1", **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "event: coverage" in response.text
    [data] = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
    view: dict[str, Any] = json.loads(data)
    return view


def refused(response: httpx.Response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["field"] == field, response.text


async def test_a_ticket_opens_the_live_stream_and_only_the_live_stream(
    database_url: str, platform_settings: PlatformSettings,
) -> None:
    async with patrol(database_url, platform_settings) as (client, service):
        await publish_route(service, "R-1", 1, "塘下镇", ["CP-1", "CP-2"])
        await publish_route(service, "R-2", 1, "安阳街道", ["CP-3"])
        await post_scans(client, "一队", [("a-1", "张三", "CP-1", NOW - timedelta(minutes=5))])
        await until_live_equals_record(client, service)

        # an organiser's ticket opens the stream without a header: every township
        ticket = await ticket_for(client, ORGANISER)
        view = await first_view(client, ticket)
        assert [(r["route_id"], r["covered_checkpoint_ids"]) for r in view["routes"]] == [("R-1", ["CP-1"]),
                                                                                         ("R-2", [])]
        # once: the same ticket opens nothing more
        again = await client.get(STREAM, params={"ticket": ticket, "max_events": "1"})
        refused(again, 401, "ticket")
        assert "opened a stream already" in again.json()["detail"]
        # a scoped supervisor's ticket carries its scope: its township only, and another is refused
        supervisor = bearer(Role.SUPERVISOR, "塘下镇督导", scope="塘下镇", issued_at=NOW)
        scoped = await ticket_for(client, supervisor)
        assert [r["route_id"] for r in (await first_view(client, scoped))["routes"]] == ["R-1"]
        scoped = await ticket_for(client, supervisor)
        refused(await client.get(STREAM, params={"ticket": scoped, "township": "安阳街道"}), 403, "township")

        # roles: the ticket route allows the stream's readers only; a ticket of another role opens nothing
        for role in (Role.PATROL_DEVICE, Role.MEMBER, Role.INSPECTOR, Role.UNIT, Role.INTEGRATION):
            headers = bearer(role, "outsider", team="一队", unit="塘下镇", issued_at=NOW)
            refused(await client.post("/v1/stream-tickets", headers=headers), 403, "Authorization")
        unit_ticket = minted_ticket(service, Role.UNIT, "塘下镇联络员", unit_id="塘下镇")
        refused(await client.get(STREAM, params={"ticket": unit_ticket, "max_events": "1"}), 403, "ticket")
        # a ticket of another service opens nothing here, whatever its role
        alerts_ticket = minted_ticket(service, Role.ORGANISER, "平安办", audience="alerts")
        response = await client.get(STREAM, params={"ticket": alerts_ticket, "max_events": "1"})
        refused(response, 401, "ticket")
        assert "a ticket of alerts opens no stream of patrol" in response.json()["detail"]

        # a ticket is not a bearer token: not on an ordinary route, not on the stream's header
        as_bearer = {"Authorization": f"Bearer {ticket}"}
        for path in ("/v1/rounds", "/v1/coverage/live", STREAM):
            response = await client.get(path, headers=as_bearer)
            refused(response, 401, "Authorization")
            assert "not a bearer token" in response.json()["detail"]
        # a bearer token is not a ticket: never in a URL
        refused(await client.get(STREAM, params={"ticket": ORGANISER["Authorization"].removeprefix("Bearer ")}),
                401, "ticket")
        # forged (another process's ticket key: another replica's, or this one's before a restart), garbled
        forged = minted_ticket(service, Role.ORGANISER, "平安办", key=TicketKey.generate())
        for bad in (forged, "garbled", ticket[:-3]):
            refused(await client.get(STREAM, params={"ticket": bad}), 401, "ticket")

        # a minute (and the clock-skew leeway every token has) later the ticket opens nothing
        clock = service.app.state.edge.clock
        assert isinstance(clock, FixedClock)
        clock.advance(timedelta(seconds=60) + LEEWAY + timedelta(seconds=1))
        response = await client.get(STREAM, params={"ticket": ticket, "max_events": "1"})
        refused(response, 401, "ticket")
        assert "expired" in response.json()["detail"]
