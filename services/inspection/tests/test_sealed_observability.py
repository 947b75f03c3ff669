"""Covert findings as an attacker sees them around the API: through metrics, ops endpoints, docs and logs.

``/metrics`` used to answer on the API port without a token: ``pingan_http_requests_total{route="/v1/findings",
method="POST",status="201"}`` counted the covert findings and its ``_created`` sample dated the first of the cycle.
Now the metrics are on a port of their own (operators only), without ``_created`` samples, and a finding's request
is logged at debug, not info. Here a unit's token and no token ask inspection's API port for everything that is not
an API route — metrics under every likely name, health, readiness, the OpenAPI document, the docs and their
assets, unknown paths — on a service where findings were recorded and on a twin where none were: every answer
must be the twin's (see ``test_sealing.answer``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from structlog.testing import capture_logs

from pingan_shared.clock import FixedClock
from pingan_stack.testing import scrape

from .conftest import Inspection, local
from .test_sealing import FINDINGS, MEMBER_FINDING, START, U, answer, assert_same, record_findings, seed

BESIDE_THE_API = [
    "/metrics", "/metrics/", "/metrics?name[]=pingan_http_requests_total", "/v1/metrics", "/prometheus", "/stats",
    "/debug/vars", "/health", "/ready", "/openapi.json", "/docs", "/redoc", "/docs/assets/swagger-ui.css",
    "/docs/assets/metrics", "/v1/findings/count", "/v1/findings/stats", "/v1/does-not-exist", "/favicon.ico",
]
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
# what an exposition (Prometheus text or OpenMetrics) looks like: a sample line, or a HELP/TYPE comment
EXPOSITION = re.compile(r"^(# (HELP|TYPE) \w+ |\w+(\{[^}\n]*\})? [-+.\deE]+( [\d.]+)?$)", re.MULTILINE)
RECORDED = len(FINDINGS) + 1  # the inspectors' and the supervision-group member's


async def observe(h: Inspection, who: dict[str, str]) -> list[tuple[Any, ...]]:
    seen = []
    for n, path in enumerate(BESIDE_THE_API):
        for accept in ("*/*", OPENMETRICS):
            response = await h.client.get(path, headers={**who, "Accept": accept, "X-Request-ID": f"probe-{n}"})
            assert not EXPOSITION.search(response.text), (path, response.text[:400])
            seen.append(answer(response))
    return seen


async def test_nothing_beside_the_api_tells_a_unit_or_a_stranger_that_findings_were_recorded(
    inspection_factory: Any,
) -> None:
    clock = FixedClock(local(START - timedelta(days=1), 10))
    sealed = await inspection_factory(clock)
    twin = await inspection_factory(clock)
    for h in (sealed, twin):
        await seed(h, findings=True)
    await sealed.advance_to(local(START + timedelta(days=1), 9, 30))  # day 2 of the covert phase
    await twin.advance_to(local(START + timedelta(days=1), 9, 30))
    await record_findings(sealed)

    assert (await sealed.client.get("/metrics")).status_code == 404  # not on the API port, for anyone
    assert (await sealed.client.get("/metrics", headers=sealed.admin)).status_code == 404
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"{path} ({accept})", {}) for path in BESIDE_THE_API for accept in ("*/*", "openmetrics")]
    for who, headers in [("unit U", lambda h: h.unit(U)), ("no token", lambda h: {})]:
        assert_same(calls, await observe(sealed, headers(sealed)), await observe(twin, headers(twin)), who)


async def test_recording_findings_leaves_no_info_log_line_and_no_created_sample(inspection: Inspection) -> None:
    await seed(inspection, findings=True)
    await inspection.advance_to(local(START + timedelta(days=1), 9, 30))
    with capture_logs() as logs:
        await record_findings(inspection)
        await inspection.ok("GET", "/v1/findings", inspection.inspector, expect=200)

    about_findings = [e for e in logs if "/v1/findings" in str(e.get("route", "")) or "F-seal" in str(e)]
    shown = [e for e in about_findings if e["log_level"] != "debug"]
    assert not shown, f"logged at info or above, for whoever reads the logs: {shown}"
    # still there for an operator who turns on debug: one line per request, never the finding itself
    assert len(about_findings) == RECORDED + 1, about_findings
    assert not any(str(MEMBER_FINDING["place"]) in str(e) for e in about_findings)

    # the metrics port (operators only) counts them, but no sample dates the first of them
    for accept in (None, OPENMETRICS):
        metrics = await scrape(inspection.service, accept=accept)
        counted = 'pingan_http_requests_total{method="POST",route="/v1/findings",status="201"}'
        assert f"{counted} {RECORDED}" in metrics, metrics
        created = [line for line in metrics.splitlines() if "_created" in line]
        assert not created, created[:5]
