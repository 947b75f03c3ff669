"""The covert phase as an attacker sees it: findings are sealed until the phase change.

Two services run the same story on the same clock: in one, findings are recorded against the townships and a
department; in the twin, none are. A unit's token (the unit the findings are about, and an uninvolved one) and
a supervisor's then make every unit-facing call — task lists under every filter value and pair of values,
paging, guessed ids (the findings' own ids among them), timelines, notices, findings, cycles, scorecards,
writes — on both, and each answer must be byte-identical to the twin's (status, headers incl. ETag and length,
body; request ids and clock-free timestamps aside). Nothing the service enqueued or published before the phase
change may mention a finding or the units it is about. After day 14 the unit sees its own tasks and notice;
the uninvolved unit still sees what the twin shows, and another unit's task or notice is the same 404 as an id
that never existed.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import date, timedelta
from typing import Any

import httpx
from allpairspy import AllPairs

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock

from .conftest import INSPECTOR_NAME, MEMBER_NAME, Inspection, local

CYCLE = "C-2026-03"
START = date(2026, 3, 2)  # a Monday; the covert phase runs to 2026-03-16 00:00 local
U = "town-anyang"          # the findings are about this township ...
W = "dept-fire"            # ... and this department (bundled with U in one finding)
V = "town-yuhai"           # no finding mentions this one
UNITS = [
    {"id": "dept-police", "name": "瑞安市公安局", "kind": "department", "contact": "0577-65800000"},
    {"id": U, "name": "安阳街道", "kind": "township", "contact": "0577-65811111"},
    {"id": V, "name": "玉海街道", "kind": "township", "contact": "0577-65822222"},
    {"id": W, "name": "瑞安市消防救援大队", "kind": "department", "contact": "0577-65833333",
     "supervising_unit_id": "dept-police"},
]
FINDINGS: list[dict[str, Any]] = [
    {"id": "F-seal-1", "cycle_id": CYCLE, "township_unit_id": U, "category": "fire", "severity": "high",
     "place": "万松路12号沿街店铺", "latitude": 27.7801, "longitude": 120.6502,
     "description": "消防通道被电动车占用，灭火器过期", "evidence": ["oss://evidence/f1-1.jpg"]},
    {"id": "F-seal-2", "cycle_id": CYCLE, "township_unit_id": U, "department_unit_id": W, "category": "gas",
     "severity": "critical", "place": "安阳菜市场东门", "description": "液化气钢瓶露天存放",
     "evidence": ["oss://evidence/f2-1.jpg", "oss://evidence/f2-2.mp4"]},
    {"id": "F-seal-4", "cycle_id": CYCLE, "department_unit_id": W, "category": "enterprise",
     "place": "塘下工业区3号厂房", "description": "安全出口锁闭"},
]
MEMBER_FINDING: dict[str, Any] = {
    "id": "F-seal-3", "cycle_id": CYCLE, "township_unit_id": U, "category": "public-order", "place": "西山公园北门",
    "description": "夜间路灯损坏，无人巡逻"}
SECRETS = [f["id"] for f in [*FINDINGS, MEMBER_FINDING]] + [U, W] + [
    str(f[k]) for f in [*FINDINGS, MEMBER_FINDING] for k in ("place", "description")]

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")
VOLATILE_HEADERS = {"x-request-id", "date"}


def answer(response: httpx.Response, asked: str | None = None) -> tuple[Any, ...]:
    """What an attacker can observe of a response, minus request ids and timestamps (which are not the
    clock's here: a row's created_at is the database's own now()); ``asked``, the id the caller put in the
    path, may be echoed back without telling anything."""
    text = response.text if asked is None else response.text.replace(asked, "<asked>")
    body = TIMESTAMP.sub("<time>", text)
    dropped = VOLATILE_HEADERS | ({"content-length"} if body != response.text else set())
    headers = sorted((k.lower(), v) for k, v in response.headers.items() if k.lower() not in dropped)
    return response.status_code, headers, body


async def seed(h: Inspection, *, findings: bool) -> None:
    for unit in UNITS:
        await h.ok("POST", "/v1/units", h.inspector, expect=201, json=unit)
    await h.ok("POST", "/v1/cycles", h.inspector, expect=201, json={
        "id": CYCLE, "name": "2026年第5期", "start_date": START.isoformat(), "unit_ids": [U, V, W, "dept-police"],
        "day_basis": "calendar"})


async def record_findings(h: Inspection) -> None:
    for finding in FINDINGS:
        await h.ok("POST", "/v1/findings", h.inspector, expect=201, json=finding)
    await h.ok("POST", "/v1/findings", h.member(), expect=201, json=MEMBER_FINDING)


def task_queries() -> list[dict[str, str]]:
    """The filters a unit can send to GET /v1/tasks: every value of each, and every pair of values of two, at least
    once (all pairs: 20 queries rather than the 180 of the full product, which, asked by four roles of two services,
    was most of this test's 20 s of CPU); a leak shows through one filter or where two meet."""
    queries = []
    for status, cycle, unit, overdue in AllPairs([
        [None, "triage", "open", "submitted", "verified"], [None, CYCLE, "C-none"], [None, U, V, W],
        [None, "true", "false"],
    ]):
        query = {"status": status, "cycle_id": cycle, "unit_id": unit, "overdue": overdue}
        queries.append({k: v for k, v in query.items() if v is not None})
    return queries


def paging_queries(guesses: list[str]) -> list[dict[str, str]]:
    queries = [{"limit": "1"}, {"limit": "500"}, {"limit": "2", "status": "open"}]
    for guess in guesses:
        queries += [{"limit": "1", "after": guess}, {"after": guess, "unit_id": U}]
    return queries


def guessed_ids(extra: list[str]) -> list[str]:
    ids = [f["id"] for f in [*FINDINGS, MEMBER_FINDING]]
    guesses = [*ids, "1", "2", "3", "T-1", "task-1", "00000000-0000-0000-0000-000000000001", "no-such-task", *extra]
    for fid, unit in itertools.product(ids, [U, W]):
        guesses += [f"{fid}-{unit}", f"{fid}:{unit}", f"{fid}.{unit}"]
    return list(dict.fromkeys(guesses))


def unit_facing_calls(guesses: list[str], notice_guesses: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    calls: list[tuple[str, str, dict[str, Any]]] = []
    for query in task_queries() + paging_queries(guesses):
        calls.append(("GET", "/v1/tasks", {"params": query}))
    for guess in guesses:
        calls += [
            ("GET", f"/v1/tasks/{guess}", {}),
            ("GET", f"/v1/tasks/{guess}/timeline", {}),
            ("POST", f"/v1/tasks/{guess}/rectifications", {"json": {"text": "已整改", "evidence": ["oss://x.jpg"]}}),
            ("POST", f"/v1/tasks/{guess}/rectifications", {"json": {"text": "已整改", "evidence": []}}),
            ("GET", f"/v1/findings/{guess}", {}),
            ("GET", f"/v1/notices/{guess}", {}),
        ]
    for guess in notice_guesses:
        calls.append(("GET", f"/v1/notices/{guess}", {}))
    for query in [{}, {"status": "open"}, {"status": "closed"}, {"year": "2026"}, {"year": "2025"}, {"limit": "1"},
                  *({"after": g} for g in notice_guesses)]:
        calls.append(("GET", "/v1/notices", {"params": query}))
    for query in [{}, {"cycle_id": CYCLE}, {"unit_id": U}, {"cycle_id": CYCLE, "unit_id": U, "limit": "1"}]:
        calls.append(("GET", "/v1/findings", {"params": query}))
    calls += [
        ("GET", "/v1/units", {}), ("GET", f"/v1/units/{U}", {}), ("GET", f"/v1/units/{V}", {}),
        ("GET", f"/v1/units/{W}", {}), ("GET", "/v1/units/no-such-unit", {}),
        ("GET", "/v1/cycles", {}), ("GET", f"/v1/cycles/{CYCLE}", {}), ("GET", "/v1/cycles/C-none", {}),
        ("GET", f"/v1/cycles/{CYCLE}/scorecard", {}),
        ("GET", f"/v1/cycles/{CYCLE}/scorecard", {"params": {"format": "csv"}}),
        ("POST", "/v1/findings", {"json": FINDINGS[0]}),
        ("POST", "/v1/findings", {"json": {**FINDINGS[0], "id": "F-new"}}),
        ("PUT", "/v1/tasks/F-seal-1/listing", {"json": {"days": 30, "note": "挂牌"}}),
        ("POST", "/v1/tasks/F-seal-1/revisits", {"json": {"outcome": "verified"}}),
        ("POST", "/v1/tasks/F-seal-1/assignment", {"json": {"unit_id": U}}),
    ]
    return calls


async def observe(h: Inspection, who: dict[str, str], calls: list[tuple[str, str, dict[str, Any]]],
                  ) -> list[tuple[Any, ...]]:
    seen = []
    for n, (method, path, kwargs) in enumerate(calls):
        response = await h.client.request(method, path, headers={**who, "X-Request-ID": f"probe-{n}"}, **kwargs)
        assert response.status_code < 500, f"{method} {path} {kwargs}: {response.status_code} {response.text[:300]}"
        assert response.text != '{"detail":"Not Found"}', f"{method} {path}: no such route"
        seen.append(answer(response))
    return seen


def assert_same(calls: list[tuple[str, str, dict[str, Any]]], sealed: list[tuple[Any, ...]],
                twin: list[tuple[Any, ...]], who: str) -> None:
    differences = [(call, s, t) for call, s, t in zip(calls, sealed, twin, strict=True) if s != t]
    assert not differences, (
        f"{who}: {len(differences)} of {len(calls)} answers differ from the twin without findings; first ones:\n"
        + "\n".join(f"{c[0]} {c[1]} {c[2]}\n  with findings: {s}\n  without:       {t}" for c, s, t in differences[:5]))


def assert_no_secret(text: str, where: str, secrets: list[str]) -> None:
    leaked = [s for s in secrets if s in text]
    assert not leaked, f"{where} mentions {leaked}: {text[:600]}"


def comparable_events(events: list[dict[str, Any]], prefix: str) -> list[tuple[Any, ...]]:
    return [(e["topic"].removeprefix(prefix), e["type"], e["key"], e.get("sequence"),
             TIMESTAMP.sub("<time>", json.dumps(e["payload"], sort_keys=True, ensure_ascii=False)))
            for e in events]


async def test_findings_are_sealed_until_the_phase_change(inspection_factory: Any) -> None:
    clock = FixedClock(local(START - timedelta(days=1), 10))
    sealed = await inspection_factory(clock)
    twin = await inspection_factory(clock)
    for h in (sealed, twin):
        await seed(h, findings=True)
    await sealed.advance_to(local(START + timedelta(days=1), 9, 30))  # day 2 of the covert phase
    await record_findings(sealed)
    inspector_view = await sealed.all_pages("/v1/tasks", sealed.inspector)  # tasks, if any exist already
    guesses = guessed_ids([t["id"] for t in inspector_view])
    notices = await sealed.all_pages("/v1/notices", sealed.inspector)
    notice_guesses = [n["id"] for n in notices] + ["1", "N-1", "〔2026〕1号"]

    # --- covert phase: every unit-facing call answers exactly as if nothing had been found ----------
    calls = unit_facing_calls(guesses, notice_guesses)
    for role, who in [("unit U", lambda h: h.unit(U)), ("unit W", lambda h: h.unit(W)),
                      ("unit V", lambda h: h.unit(V)), ("supervisor", lambda h: h.supervisor)]:
        assert_same(calls, await observe(sealed, who(sealed), calls), await observe(twin, who(twin), calls), role)

    # lists carry no totals (a count is an oracle)
    page = await sealed.ok("GET", "/v1/tasks", sealed.unit(U), expect=200)
    assert set(page) == {"items", "next_after"} and page["items"] == []
    # a 403 says the same whether the finding exists or not
    for who in (sealed.unit(U), sealed.supervisor):
        real = await sealed.client.get("/v1/findings/F-seal-1", headers={**who, "X-Request-ID": "x"})
        ghost = await sealed.client.get("/v1/findings/F-ghost", headers={**who, "X-Request-ID": "x"})
        assert real.status_code == 403 and answer(real, "F-seal-1") == answer(ghost, "F-ghost")

    # nothing enqueued or published mentions a finding or the units it is about
    sealed_outbox, twin_outbox = await sealed.outbox(), await twin.outbox()
    for event in sealed_outbox:
        assert_no_secret(json.dumps(event, ensure_ascii=False), f"outbox event {event['type']}", SECRETS)
    assert comparable_events(sealed_outbox, sealed.platform.kafka_topic_prefix) == comparable_events(
        twin_outbox, twin.platform.kafka_topic_prefix)
    for topic, records in (await sealed.all_inspection_events()).items():
        for record in records:
            assert_no_secret(json.dumps(record, ensure_ascii=False), f"{topic} record {record['type']}", SECRETS)

    # --- day 14: released ---------------------------------------------------------------------------
    await sealed.advance_to(local(START + timedelta(days=14), 0, 1))
    await sealed.wait_phase(CYCLE, "rectification")
    await twin.wait_phase(CYCLE, "rectification")

    mine = await sealed.all_pages("/v1/tasks", sealed.unit(U))
    assert sorted(t["place"] for t in mine) == sorted(
        [FINDINGS[0]["place"], FINDINGS[1]["place"], MEMBER_FINDING["place"]])
    assert {t["unit_id"] for t in mine} == {U}
    notices_u = await sealed.all_pages("/v1/notices", sealed.unit(U))
    assert len(notices_u) == 1 and re.fullmatch(r"〔2026〕\d+号", notices_u[0]["number"])
    assert sorted(t["id"] for t in notices_u[0]["tasks"]) == sorted(t["id"] for t in mine)
    # a unit never learns who inspected: no recorder's name anywhere in what it can read
    for task in mine:
        for path in (f"/v1/tasks/{task['id']}", f"/v1/tasks/{task['id']}/timeline"):
            response = await sealed.client.get(path, headers=sealed.unit(U))
            assert response.status_code == 200, response.text
            assert_no_secret(response.text, f"{path} as the unit", [INSPECTOR_NAME, MEMBER_NAME])
        timeline = (await sealed.client.get(f"/v1/tasks/{task['id']}/timeline", headers=sealed.unit(U))).json()
        assert timeline[0]["actor"] in {"inspector", "supervision_member"}, timeline

    all_tasks = await sealed.all_pages("/v1/tasks", sealed.inspector)
    others = [t for t in all_tasks if t["unit_id"] != U]
    assert sorted(t["unit_id"] for t in others) == [W, W]
    all_notices = await sealed.all_pages("/v1/notices", sealed.inspector)
    real_ids = [t["id"] for t in all_tasks]
    notice_ids = [n["id"] for n in all_notices]

    # the uninvolved unit still sees exactly what the twin shows, also when it asks for the real ids
    calls = unit_facing_calls(guessed_ids(real_ids), [*notice_ids, "〔2026〕1号"])
    assert_same(calls, await observe(sealed, sealed.unit(V), calls), await observe(twin, twin.unit(V), calls), "unit V")

    # U asking for W's task or notice gets the 404 of an id that never existed
    w_notice = next(n["id"] for n in all_notices if n["unit_id"] == W)
    for template, real_id, ghost_id in [*(("/v1/tasks/{}", t["id"], "T-ghost") for t in others),
                                        *(("/v1/tasks/{}/timeline", t["id"], "T-ghost") for t in others),
                                        ("/v1/notices/{}", w_notice, "N-ghost")]:
        real = await sealed.client.get(template.format(real_id), headers={**sealed.unit(U), "X-Request-ID": "same"})
        fake = await sealed.client.get(template.format(ghost_id), headers={**sealed.unit(U), "X-Request-ID": "same"})
        assert real.status_code == 404, (template, real.text)
        assert answer(real, real_id) == answer(fake, ghost_id), (template, real.text, fake.text)
    for task in others:
        response = await sealed.client.post(f"/v1/tasks/{task['id']}/rectifications", headers=sealed.unit(U),
                                            json={"text": "已整改", "evidence": ["oss://x.jpg"]})
        assert response.status_code == 404, response.text
    # a unit_id filter for another unit is an empty page, not an error
    assert (await sealed.ok("GET", "/v1/tasks", sealed.unit(U), expect=200, params={"unit_id": W}))["items"] == []
    assert await sealed.all_pages("/v1/tasks", sealed.unit(V)) == []


async def test_a_supervision_member_sees_only_their_own_findings(inspection: Inspection) -> None:
    h = inspection
    await seed(h, findings=True)
    await h.advance_to(local(START, 9))
    await record_findings(h)
    own = await h.all_pages("/v1/findings", h.member())
    assert [f["client_id"] for f in own] == [MEMBER_FINDING["id"]]  # a member's key; the finding has its own id
    assert await h.all_pages("/v1/findings", h.member("监督团成员赵六")) == []
    assert len(await h.all_pages("/v1/findings", h.inspector)) == 4
    assert len(await h.all_pages("/v1/findings", h.admin, {"unit_id": W})) == 2
    other = await h.client.get("/v1/findings/F-seal-1", headers={**h.member(), "X-Request-ID": "m"})
    ghost = await h.client.get("/v1/findings/F-ghost", headers={**h.member(), "X-Request-ID": "m"})
    assert other.status_code == 404 and answer(other, "F-seal-1") == answer(ghost, "F-ghost")
    mine = await h.client.get(f"/v1/findings/{own[0]['id']}", headers=h.member())
    assert mine.status_code == 200 and mine.json()["place"] == MEMBER_FINDING["place"]
    for role in (Role.UNIT, Role.SUPERVISOR):
        who = h.unit(U) if role is Role.UNIT else h.supervisor
        assert (await h.client.get("/v1/findings", headers=who)).status_code == 403
        assert (await h.client.get(f"/v1/findings/{own[0]['id']}", headers=who)).status_code == 403
