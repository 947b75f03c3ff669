"""The live stream (SSE) over real HTTP: an event written by another connection (another replica) reaches an open
stream when its transaction commits, never when it rolls back; each reader sees only its own unit or scope; a
notification on the stream channel arrives as an event."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx

from alerts.delivery.live import hub_for, notify_live
from alerts.signals import apply_signal
from alerts.timers import escalation_runners
from pingan_shared.auth import Role
from pingan_shared.events.alert_contracts import AlertSignalV1, Severity, SignalAction, SourceLink
from pingan_stack.testing import bearer

from .delivery_harness import SseReader, serving_on_loopback


async def test_an_event_from_another_connection_reaches_the_stream_on_commit_only(
        delivery_service: Any, make_notification: Any, add_contact: Any) -> None:
    alerts = await delivery_service()
    await hub_for(alerts.ctx).listening()
    async with serving_on_loopback(alerts) as base, httpx.AsyncClient(base_url=base, timeout=20) as http:
        unit_headers = alerts.auth(Role.UNIT, "塘下镇联络员", unit="塘下镇")
        scoped_headers = alerts.auth(Role.SUPERVISOR, "莘塍督查", scope="莘塍街道")
        async with http.stream("GET", "/v1/stream", headers=alerts.admin) as admin_response, \
                http.stream("GET", "/v1/stream", headers=unit_headers) as unit_response, \
                http.stream("GET", "/v1/stream", headers=scoped_headers) as scoped_response:
            assert admin_response.status_code == 200
            assert admin_response.headers["content-type"].startswith("text/event-stream")
            admin, unit, scoped = (SseReader(r) for r in (admin_response, unit_response, scoped_response))
            for reader in (admin, unit, scoped):
                assert (await reader.next_event())[0] == "ready"

            other = await asyncpg.connect(alerts.database_url)  # another replica's connection
            try:
                async with other.transaction():
                    await notify_live(other, "alert-raised", {"alert_id": "a-0", "unit_id": "塘下镇"})
                rolled_back = other.transaction()
                await rolled_back.start()
                await notify_live(other, "alert-raised", {"alert_id": "a-rolled-back", "unit_id": "塘下镇"})
                await rolled_back.rollback()
                async with other.transaction():
                    await notify_live(other, "alert-escalated", {"alert_id": "a-1", "unit_id": "塘下镇",
                                                                 "area": "塘下镇", "label": "挂牌督办"})
            finally:
                await other.close()

            kind, payload = await admin.next_event()
            assert (kind, payload["alert_id"]) == ("alert-raised", "a-0")
            kind, payload = await admin.next_event()
            assert (kind, payload["alert_id"], payload["label"]) == ("alert-escalated", "a-1", "挂牌督办")
            assert [(await unit.next_event())[1]["alert_id"] for _ in range(2)] == ["a-0", "a-1"]

            # a notification on the stream channel, for a 莘塍街道 alert: the scoped supervisor sees it, the
            # 塘下镇 unit does not
            async with alerts.db() as conn:
                await add_contact(conn, "role:command-centre", name="指挥中心大屏")
            await alerts.enqueue([make_notification(
                "role:command-centre", ("stream",), alert_id="a-2", unit_id="莘塍街道", area="莘塍街道",
                summary="莘塍街道巡逻未按时开始")])
            kind, payload = await scoped.next_event()
            assert kind == "notification"
            assert [n["alert_id"] for n in payload["notifications"]] == ["a-2"]
            assert payload["notifications"][0]["summary"] == "莘塍街道巡逻未按时开始"
            kind, payload = await admin.next_event()
            assert kind == "notification" and payload["recipient"] == "role:command-centre"
            async with other_connection(alerts) as conn, conn.transaction():
                await notify_live(conn, "alert-resolved", {"alert_id": "a-1", "unit_id": "塘下镇"})
            # the unit's next event is the resolve: the 莘塍街道 notification never reached it
            kind, payload = await unit.next_event()
            assert (kind, payload["alert_id"]) == ("alert-resolved", "a-1")
            # the scoped supervisor never saw the 塘下镇 events: its next is nothing within a short wait
            try:
                await scoped.next_event(timeout=0.5)
                raise AssertionError("a 塘下镇 event reached a 莘塍街道 supervisor")
            except TimeoutError:
                pass


async def test_an_alerts_lifecycle_reaches_the_stream_of_those_who_may_see_it(delivery_service: Any) -> None:
    """Raised, escalated, acknowledged, resolved — each written by the service's own use cases — arrive on the
    open streams of the admin and of the alert's unit, and never on a supervisor's of another township."""
    alerts = await delivery_service()
    await hub_for(alerts.ctx).listening()
    async with serving_on_loopback(alerts) as base, httpx.AsyncClient(base_url=base, timeout=20) as http:
        unit_headers = alerts.auth(Role.UNIT, "塘下镇联络员", unit="塘下镇")
        scoped_headers = alerts.auth(Role.SUPERVISOR, "莘塍督查", scope="莘塍街道")
        async with http.stream("GET", "/v1/stream", headers=alerts.admin) as admin_response, \
                http.stream("GET", "/v1/stream", headers=unit_headers) as unit_response, \
                http.stream("GET", "/v1/stream", headers=scoped_headers) as scoped_response:
            admin, unit, scoped = (SseReader(r) for r in (admin_response, unit_response, scoped_response))
            for reader in (admin, unit, scoped):
                assert (await reader.next_event())[0] == "ready"

            key = "inspection:task:live-1:overdue"
            # inspection's overdue signal, applied as alerts' consumer applies it from inspection's own topic
            # (only inspection raises its keys; the 211 ladder is inspection's)
            signal = AlertSignalV1(action=SignalAction.TRIGGER, dedup_key=key, kind="inspection.task-overdue",
                                   severity=Severity.HIGH, unit_id="塘下镇", area="塘下镇", summary="整改任务逾期",
                                   source=SourceLink(service="inspection", entity_type="task", entity_id="live-1"),
                                   occurred_at=alerts.clock.now())
            async with alerts.db() as conn, conn.transaction():
                raised = await apply_signal(conn, alerts.ctx, signal, source="inspection", producer="inspection",
                                            sequence=1, now=alerts.clock.now())
            assert raised.effect == "raised" and raised.alert_id is not None
            alert_id = raised.alert_id
            path = f"/v1/alerts/{alert_id}"
            escalated = await alerts.client.post(f"{path}/escalation", headers=alerts.admin, json={})
            assert escalated.status_code == 200, escalated.text
            acked = await alerts.client.post(f"{path}/acknowledgement", headers=unit_headers)
            assert acked.status_code == 200, acked.text
            resolved = await alerts.client.post(f"{path}/resolution", headers=alerts.admin, json={"reason": "已整改"})
            assert resolved.status_code == 200, resolved.text

            expected = [("alert-raised", None, "open"), ("alert-escalated", 0, "open"),
                        ("alert-escalated", 1, "open"), ("alert-acknowledged", 1, "acknowledged"),
                        ("alert-resolved", 1, "resolved")]
            for reader in (admin, unit):
                seen = [await reader.next_event() for _ in expected]
                assert [(k, p["step"], p["status"]) for k, p in seen] == expected
                for _, payload in seen:
                    assert (payload["alert_id"], payload["dedup_key"], payload["kind"], payload["unit_id"],
                            payload["area"]) == (alert_id, key, "inspection.task-overdue", "塘下镇", "塘下镇")
                assert [p["label"] for _, p in seen[1:3]] == ["逾期提醒", "通报"]
            try:
                event = await scoped.next_event(timeout=0.5)
                raise AssertionError(f"a 塘下镇 alert reached a 莘塍街道 supervisor: {event}")
            except TimeoutError:
                pass


async def test_the_stream_refuses_roles_without_a_view(delivery_service: Any) -> None:
    alerts = await delivery_service()
    for role in (Role.MEMBER, Role.INSPECTOR, Role.INTEGRATION, Role.ORGANISER, Role.SUPERVISION_MEMBER):
        response = await alerts.client.get("/v1/stream", headers=alerts.auth(role, "someone"))
        assert response.status_code == 403, role
    device = bearer(Role.PATROL_DEVICE, "巡逻终端", team="team-1", issued_at=alerts.clock.now())
    assert (await alerts.client.get("/v1/stream", headers=device)).status_code == 403
    assert (await alerts.client.get("/v1/stream")).status_code == 401
    assert (await alerts.client.get("/v1/stream", headers={"Authorization": "Bearer forged"})).status_code == 401


class other_connection:
    def __init__(self, alerts: Any) -> None:
        self._url = alerts.database_url
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self._conn = await asyncpg.connect(self._url)
        return self._conn

    async def __aexit__(self, *_: object) -> None:
        assert self._conn is not None
        await self._conn.close()
        await asyncio.sleep(0)


async def test_an_intake_replica_serves_the_stream_though_it_delivers_nothing(delivery_service: Any) -> None:
    # ALERTS_RUN_CONSUMERS=false: no consumer group, no delivery worker, no auditor; but /v1/stream is answered
    # here as on any replica, so its LISTEN hub runs and an event committed elsewhere reaches the open stream.
    alerts = await delivery_service(run_consumers=False)
    await hub_for(alerts.ctx).listening()
    # every replica fires timers, so the extra escalation runners run here too (alerts.timers)
    assert set(alerts.ctx.runtime.serving) == {"alerts-live", *escalation_runners(alerts.ctx)}
    async with serving_on_loopback(alerts) as base, httpx.AsyncClient(base_url=base, timeout=20) as http, \
            http.stream("GET", "/v1/stream", headers=alerts.admin) as response:
        reader = SseReader(response)
        assert (await reader.next_event())[0] == "ready"
        async with other_connection(alerts) as conn, conn.transaction():
            await notify_live(conn, "alert-raised", {"alert_id": "a-intake", "unit_id": "塘下镇"})
        kind, payload = await reader.next_event()
        assert (kind, payload["alert_id"]) == ("alert-raised", "a-intake")
