"""The live stream's heartbeat (``state`` events, ``patrol.live.health``): current once the app has recovered and
hears the broker, and not current, saying why, when the broker has been unheard — what the console's board marks
its live panels stale by (its browser test restarts a real broker)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from patrol.live.health import SILENT_AFTER_SECONDS, live_health
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import eventually

from .test_live_coverage import NOW, ORGANISER, live_of, patrol, post_scans, publish_route, until_live_equals_record


async def test_the_stream_says_whether_its_view_is_current(database_url: str,
                                                           platform_settings: PlatformSettings) -> None:
    async with patrol(database_url, platform_settings) as (client, service):
        await publish_route(service, "R-1", 1, "塘下镇", ["CP-1"])
        await post_scans(client, "一队", [("a-1", "张三", "CP-1", NOW - timedelta(minutes=5))])
        await until_live_equals_record(client, service)
        live = live_of(service)

        async def heard() -> bool:
            return live_health(live).current
        await eventually(heard, timeout=20, what="the live view current")

        response = await client.get("/v1/coverage/live/stream", params={"max_events": "2"}, headers=ORGANISER)
        assert response.status_code == 200
        events = [line.removeprefix("event: ") for line in response.text.splitlines() if line.startswith("event: ")]
        data = [json.loads(line.removeprefix("data: ")) for line in response.text.splitlines()
                if line.startswith("data: ")]
        assert events == ["coverage", "state"]
        assert data[1]["current"] is True and data[1]["reason"] == ""
        assert 0 <= data[1]["silent_seconds"] <= SILENT_AFTER_SECONDS

        # a minute on, with no fetch answer since: the view is not current, and says why in Chinese then English
        later = live_health(live, now=time.time() + 60)
        assert not later.current and later.silent_seconds is not None and later.silent_seconds >= 55
        assert "无应答" in later.reason and "(the broker unheard" in later.reason
