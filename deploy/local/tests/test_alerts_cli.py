"""`pingan alerts deliveries list|resend` against a real alerts service (loopback HTTP, real database and broker): a
webhook that cannot be reached leaves a dead letter, the table lists it with its Chinese-first headers, `resend ID`
re-sends it (twice is harmless), an unknown id is exit 1, and `resend --all` with a filter answers how many."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx

from alerts.bootstrap import bootstrap
from alerts.context import AlertsContext
from alerts.delivery.enqueue import enqueue_notifications
from alerts.delivery.requests import NotificationRequest
from alerts.settings import AlertsSettings
from pingan_shared.auth import Role
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import bearer, eventually, run_pingan, serving_on_loopback

SECRET = "alerts-cli-secret-000001"


async def _open_letters(ctx: AlertsContext, n: int) -> bool:
    async with ctx.runtime.connection() as conn:
        count = await conn.fetchval("SELECT count(*) FROM delivery_dead_letters WHERE resent_at IS NULL")
    return bool(count == n)


async def test_dead_letters_are_listed_and_resent_from_the_command_line(
    platform_settings: PlatformSettings, database_factory: Callable[[], Awaitable[str]],
) -> None:
    service = bootstrap(platform=platform_settings, settings=AlertsSettings(
        database_url=await database_factory(), delivery_poll_seconds=0.05, delivery_bundle_window_seconds=0,
        delivery_max_attempts=1))
    ctx: AlertsContext = service.app.state.alerts
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as nobody_listens:
        nobody_listens.bind(("127.0.0.1", 0))  # bound, not listening: every connection to it is refused
        hook = f"http://127.0.0.1:{nobody_listens.getsockname()[1]}/hook"
        async with serving_on_loopback(service) as url:
            env = {"ALERTS_URL": url, "COLUMNS": "250"}
            async with httpx.AsyncClient(base_url=url) as client:
                put = await client.put("/v1/contacts/person:张三", headers=bearer(Role.ADMIN), json={
                    "display_name": "张三", "webhook_url": hook, "webhook_secrets": [SECRET]})
                assert put.status_code == 201, put.text
            async with ctx.runtime.connection() as conn, conn.transaction():
                await enqueue_notifications(conn, [NotificationRequest(
                    alert_id="a-1", dedup_key="inspection:task:t-1:overdue", kind="inspection.task-overdue",
                    severity="high", summary="塘下镇消防通道堵塞整改逾期", unit_id="塘下镇", area="塘下镇",
                    event="escalated", step_index=1, step_label="通报", loop=0, target="person:张三",
                    channels=("webhook",), link=None, at=datetime.now(UTC))])
            await eventually(lambda: _open_letters(ctx, 1), timeout=20, interval=0.05, what="a dead letter")

            table = await asyncio.to_thread(run_pingan, "alerts", "deliveries", "list", env=env)
            assert table.returncode == 0, table.stderr
            for header in ("编号 ID", "收件人 Recipient", "渠道 Channel", "原因 Reason"):
                assert header in table.stdout
            assert "person:张三" in table.stdout and "inspection:task:t-1:overdue" in table.stdout
            assert "alerts at" in table.stderr
            listed = await asyncio.to_thread(run_pingan, "alerts", "deliveries", "list", "--channel", "webhook",
                                             "--json", env=env)
            (letter,) = json.loads(listed.stdout)["items"]

            for _ in range(2):  # the second time changes nothing and answers the same
                resent = await asyncio.to_thread(run_pingan, "alerts", "deliveries", "resend", str(letter["id"]),
                                                 env=env)
                assert resent.returncode == 0, resent.stderr
                assert f"#{letter['id']}" in resent.stdout and "admin:pingan-cli" in resent.stdout
            unknown = await asyncio.to_thread(run_pingan, "alerts", "deliveries", "resend", "987654", env=env)
            assert unknown.returncode == 1 and "死信不存在" in unknown.stderr
            neither = await asyncio.to_thread(run_pingan, "alerts", "deliveries", "resend", env=env)
            assert neither.returncode == 2 and "--all" in neither.stderr

            # The receiver is still away: the re-sent message fails again, a new dead letter; re-send them all.
            await eventually(lambda: _open_letters(ctx, 1), timeout=20, interval=0.05, what="a second dead letter")
            everything = await asyncio.to_thread(run_pingan, "alerts", "deliveries", "resend", "--all",
                                                 "--channel", "webhook", "--json", env=env)
            assert everything.returncode == 0, everything.stderr
            assert json.loads(everything.stdout)["resent"] == 1
            resent_list = await asyncio.to_thread(run_pingan, "alerts", "deliveries", "list", "--status", "resent",
                                                  "--json", env=env)
            assert len(json.loads(resent_list.stdout)["items"]) == 2
