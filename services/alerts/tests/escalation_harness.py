"""The escalation side's test harness: an alerts service in-process over the real broker and database, behind a
``FixedClock`` the test moves (its timer runner woken as it moves, or a timer is armed), its auditor run every
100 ms.

``alerts_factory`` makes services (a fresh database and topic prefix each, or a second instance on the same
ones: ``alerts_factory(clock, twin_of=first)``); a harness can be stopped and started again on its database (a
restart spanning a due time). Signals are sent as a source would (``signal``: an envelope with its per-key
sequence on inspection's ``inspection.alert-signals``) or over the events API (``post_signal``). What happened is
read from the alert's timeline, the outbox (``escalations``) and the delivery table.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import asyncpg
import pytest

from alerts.bootstrap import bootstrap
from alerts.context import AlertsContext
from alerts.settings import AlertsSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.alert_contracts import AlertSignalV1, Severity, SignalAction, SourceLink
from pingan_shared.events.catalog import ALERT_SIGNAL, signal_topic
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.service_harness import ServiceHarness, harnesses
from pingan_stack.testing import read_topic

START = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)  # 09:00 in Ruian
OVERDUE = "inspection.task-overdue"
UNIT = "塘下镇"
OTHER_UNIT = "安阳街道"
# The harness speaks as inspection on Kafka: its signals go on inspection's own signal topic.
INSPECTION_SIGNALS = signal_topic("inspection")
# A key to send last and wait for: once it is open, everything sent before it on its partition was read.
MARKER = "inspection:task:marker:overdue"
# What the grid platform sends over HTTP: its own kind (a platform kind is refused from it).
GRID_KIND = "grid.event-timeout"


class Alerts(ServiceHarness[AlertsContext]):
    """One alerts service in-process, its clock, database and topics."""

    state_attribute = "alerts"
    defaults: ClassVar[dict[str, Any]] = {"auditor_interval_seconds": 0.1,
                                          "auditor_stall_bound_seconds": 30, "delivery_poll_seconds": 3600}

    def __init__(self, database_url: str, platform: PlatformSettings, clock: FixedClock, **settings: Any) -> None:
        super().__init__(database_url, platform, clock, **settings)
        self.source = EventFactory("inspection", clock, platform.kafka_topic_prefix)

    def build(self) -> Service:
        settings = AlertsSettings(database_url=self.database_url, **self.settings)
        return bootstrap(platform=self.platform, settings=settings, clock=self.clock)

    # --- who ---------------------------------------------------------------------------------------

    @property
    def admin(self) -> dict[str, str]:
        return self.auth(Role.ADMIN, "平安办管理员")

    def supervisor(self, subject: str = "市委政法委督查室", scope: str | None = None) -> dict[str, str]:
        return self.auth(Role.SUPERVISOR, subject, scope=scope)

    def unit(self, unit_id: str = UNIT) -> dict[str, str]:
        return self.auth(Role.UNIT, f"联络员-{unit_id}", unit=unit_id)

    @property
    def integration(self) -> dict[str, str]:
        """The grid platform's token: its namespace (its subject) is ``grid``, so it sends ``grid:…`` keys."""
        return self.auth(Role.INTEGRATION, "grid")

    # --- HTTP ----------------------------------------------------------------------------------------

    async def alert(self, alert_id: str) -> dict[str, Any]:
        return await self.ok("GET", f"/v1/alerts/{alert_id}", self.admin, expect=200)

    async def create_policy(self, steps: list[dict[str, Any]], *, kind: str = OVERDUE, repeat: Any = 0,
                            **scope: Any) -> dict[str, Any]:
        body = {"name": "测试阶梯", "kind": kind, "steps": steps, "repeat": repeat, **scope}
        return await self.ok("POST", "/v1/policies", self.admin, expect=201, json=body)

    async def add_contacts(self, *targets: str) -> None:
        """Directory entries (an e-mail address each) so that policies naming them validate."""
        async with self.db() as conn:
            for target in targets:
                now = datetime.now(UTC)
                await conn.execute(
                    "INSERT INTO contacts (target, display_name, subject, locale, email, webhook_url, webhook_secrets,"
                    " created_at, updated_at) VALUES ($1, $2, $3, 'zh', $4, NULL, '{}', $5, $5)"
                    " ON CONFLICT DO NOTHING",
                    target, target.split(":", 1)[1], None if target.startswith("role:") else target.split(":", 1)[1],
                    f"{uuid.uuid4().hex[:8]}@example.cn", now)

    # --- signals -------------------------------------------------------------------------------------

    def signal_envelope(self, action: str, key: str, sequence: int | None, *, kind: str = OVERDUE,
                        unit: str | None = UNIT, area: str | None = None,
                        summary: str = "塘下镇 整改任务逾期：消防安全 塘川街道88号") -> Envelope:
        payload = AlertSignalV1(action=SignalAction(action), dedup_key=key, kind=kind, severity=Severity.HIGH,
                                unit_id=unit, area=area, summary=summary,
                                source=SourceLink(service="inspection", entity_type="task", entity_id=key),
                                occurred_at=self.clock.now())
        _, envelope = self.source.make(ALERT_SIGNAL, payload, key=key)
        return envelope.model_copy(update={"sequence": sequence})

    async def publish(self, envelopes: list[Envelope], topic: str | None = None) -> None:
        """Send envelopes, keyed by theirs, in the order given, to ``topic`` (without prefix) or, by default, each
        to its producer's own signal topic (where that producer publishes its signals)."""
        await self.publish_records([
            (self.platform.topic(topic or signal_topic(envelope.producer)), envelope.key.encode(), envelope.to_bytes())
            for envelope in envelopes])

    async def publish_raw(self, records: list[tuple[bytes, bytes]], topic: str = INSPECTION_SIGNALS) -> None:
        """Send (key, value) records as they are to ``topic`` (without prefix), in the order given."""
        await self.publish_records([(self.platform.topic(topic), key, value) for key, value in records])

    async def signal(self, action: str, key: str, sequence: int | None, **kwargs: Any) -> Envelope:
        envelope = self.signal_envelope(action, key, sequence, **kwargs)
        await self.publish([envelope])
        return envelope

    async def post_signal(self, action: str, key: str, sequence: int | None = None, *,
                          headers: dict[str, str] | None = None, expect: int = 202, **fields: Any) -> Any:
        body = {"action": action, "dedup_key": key, "kind": GRID_KIND, "severity": "high", "unit_id": UNIT,
                "summary": "网格事件超时未处置",
                "source": {"service": "grid", "entity_type": "event", "entity_id": key},
                "occurred_at": self.clock.now().isoformat(), **fields}
        if sequence is not None:
            body["sequence"] = sequence
        return await self.ok("POST", "/v1/events", headers or self.integration, expect=expect, json=body)

    # --- waiting and reading -------------------------------------------------------------------------

    async def prepare_connection(self, conn: asyncpg.Connection) -> None:
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")

    async def alert_for(self, key: str, *, status: str | None = None) -> dict[str, Any] | None:
        async with self.db() as conn:
            row = await conn.fetchrow(
                "SELECT * FROM alerts WHERE dedup_key = $1 AND ($2::text IS NULL OR status = $2)"
                " ORDER BY raised_at DESC, id LIMIT 1", key, status)
        return dict(row) if row else None

    async def wait_alert(self, key: str, *, status: str = "open", step: int | None = None,
                         timeout: float = 30) -> dict[str, Any]:
        found: dict[str, Any] = {}

        async def reached() -> bool:
            row = await self.alert_for(key, status=status)
            if row is not None and (step is None or row["current_step"] == step):
                found.update(row)
                return True
            return False

        await self.until(reached, f"alert {key} {status} at step {step}", timeout)
        return found

    async def timeline(self, alert_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        async with self.db() as conn:
            rows = await conn.fetch("SELECT kind, at, detail FROM alert_timeline WHERE alert_id = $1"
                                    " AND ($2::text IS NULL OR kind = $2) ORDER BY at, id", alert_id, kind)
        return [dict(r) for r in rows]

    async def events(self, event_type: str) -> list[dict[str, Any]]:
        """Payloads of this service's outbox rows of one type, oldest first."""
        async with self.db() as conn:
            rows = await conn.fetch("SELECT value FROM outbox WHERE event_type = $1 ORDER BY id", event_type)
        return [json.loads(bytes(r["value"]))["payload"] for r in rows]

    async def steps_fired(self, alert_id: str) -> list[tuple[int, int]]:
        """(step, loop) of every escalated event of the alert, in order."""
        escalated = await self.events("alerts.alert-escalated")
        return [(e["step"], e["loop"]) for e in escalated if e["alert_id"] == alert_id]

    async def quiet(self, seconds: float = 0.5) -> None:
        """Give the timers (woken as the clock moves) time to fire what they would."""
        await asyncio.sleep(seconds)


AlertsFactory = Callable[..., Awaitable[Alerts]]


@pytest.fixture
async def alerts_factory(database_factory: Any, platform_settings: PlatformSettings) -> AsyncIterator[AlertsFactory]:
    """``await alerts_factory(clock)``: a started service on a fresh database and topic prefix;
    ``twin_of=other``: a second instance on the other's database and topics (same consumer group)."""
    async with harnesses(Alerts, database_factory, platform_settings) as make:
        yield make


@pytest.fixture
def escalation_clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def alerts_service(alerts_factory: AlertsFactory, escalation_clock: FixedClock) -> Alerts:
    return await alerts_factory(escalation_clock)


async def read_dead_letters(alerts: Alerts, *, at_least: int) -> list[dict[str, Any]]:
    """The records on the service's dead-letter topic (envelopes as dicts), once at least ``at_least`` arrived and
    the relay has published everything (so no more are coming)."""
    await alerts.drained()
    records = await read_topic(alerts.platform.kafka_bootstrap_servers, alerts.platform.topic("deadletter.alerts"),
                               expected=at_least)
    return [json.loads(r.value) for r in records]


class DeafClock(FixedClock):
    """A test clock whose moves wake no timer runner (``FixedClock.on_move`` tells nobody): with an hour's poll, a
    runner that is stuck as far as time passing goes, or one a test fires batches for by hand."""

    def on_move(self, callback: Callable[[], None]) -> Callable[[], None]:
        return lambda: None
