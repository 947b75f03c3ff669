"""Misuse of inspection's HTTP API: whatever a script, a browser or an attacker sends, the answer is a clear
2xx/4xx — never a 5xx — and a 4xx names the field at fault (``errors: [{field, reason}]``).

A service with one released cycle (tasks to rectify) and one covert cycle (findings to record) is probed with:
every role (and no, a malformed, an expired token) against every route; a hand-written table of malformed
JSON, wrong types, unknown ids, conflicting retries, far-past and far-future dates, huge payloads, NUL
characters, NaN and Chinese text; CSV imports that are not CSV; and seeded random bodies and queries.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_stack.testing import bearer
from pingan_stack.testing import random_json as shared_random_json

from .conftest import Inspection, local

RELEASED, COVERT = "C-fuzz-1", "C-fuzz-2"
WEIRD_STRINGS = ["", " ", "平安", "巡" * 300, "\u0000", "'; DROP TABLE tasks; --", "🚓", "\ud800", "NaN", "null",
                 "2026-13-45", "9999-12-31", "0001-01-01", "AY", "../AY", "%00", "〔2026〕1号", "a/b", "x" * 70]
WEIRD_NUMBERS = [0, -1, 1e308, -1e308, 2**63, 3.5, 91, -181, 10**30, 366, 367, 10**9]


class World:
    def __init__(self, h: Inspection, tasks: list[dict[str, Any]], notice_ids: list[str]) -> None:
        self.h, self.task_ids, self.notice_ids = h, [t["id"] for t in tasks], notice_ids
        self.ay_task = next(t["id"] for t in tasks if t["unit_id"] == "AY")

    def ids(self) -> list[str]:
        return [*self.task_ids, *self.notice_ids, "F-1", "F-2", "AY", "XF", RELEASED, COVERT, "nope", "平安"]


@pytest.fixture
async def world(inspection_factory: Any) -> AsyncIterator[World]:
    h: Inspection = await inspection_factory(FixedClock(local(date(2026, 1, 4), 10)))
    for unit in [{"id": "AY", "name": "安阳街道", "kind": "township", "contact": "1"},
                 {"id": "YH", "name": "玉海街道", "kind": "township", "contact": "2"},
                 {"id": "XF", "name": "消防救援大队", "kind": "department", "contact": "119"}]:
        await h.ok("POST", "/v1/units", h.admin, expect=201, json=unit)
    await h.ok("POST", "/v1/cycles", h.inspector, expect=201, json={
        "id": RELEASED, "name": "第1期", "start_date": "2026-01-05", "unit_ids": ["AY", "XF"]})
    await h.ok("POST", "/v1/cycles", h.inspector, expect=201, json={
        "id": COVERT, "name": "第2期", "start_date": "2026-01-12", "unit_ids": ["YH"]})
    await h.advance_to(local(date(2026, 1, 6), 10))
    for n, place in enumerate(["万松路12号", "安阳菜场", "塘下工业区"], start=1):
        await h.ok("POST", "/v1/findings", h.inspector, expect=201, json={
            "id": f"F-{n}", "cycle_id": RELEASED, "township_unit_id": "AY",
            "department_unit_id": "XF" if n == 2 else None, "category": "fire", "place": place, "description": "隐患"})
    await h.advance_to(local(date(2026, 1, 19), 10))
    await h.wait_phase(RELEASED, "rectification")
    await h.ok("POST", "/v1/findings", h.member(), expect=201, json={
        "id": "F-9", "cycle_id": COVERT, "township_unit_id": "YH", "category": "gas", "place": "玉海楼",
        "description": "钢瓶"})
    tasks = await h.all_pages("/v1/tasks", h.inspector)
    notices = await h.all_pages("/v1/notices", h.inspector)
    assert len(tasks) == 4 and len(notices) == 2
    yield World(h, tasks, [n["id"] for n in notices])


class Verdicts:
    """Collects what is wrong with answers (so one kind of fault does not hide the others), grouped by kind."""

    def __init__(self) -> None:
        self.problems: dict[str, list[str]] = {}

    def add(self, kind: str, what: object, response: httpx.Response) -> None:
        self.problems.setdefault(kind, []).append(f"{what!r} → {response.status_code} {response.text[:300]}")

    def check(self, response: httpx.Response, what: object) -> None:
        if response.status_code >= 500:
            self.add("5xx", what, response)
        elif response.status_code >= 400:
            try:
                answer = response.json()
            except ValueError:
                self.add("4xx not JSON", what, response)
                return
            if not (isinstance(answer.get("detail"), str) and answer["detail"]):
                self.add("4xx without detail", what, response)
            errors = answer.get("errors")
            if not isinstance(errors, list):
                self.add("4xx without an errors list", what, response)
            elif not errors:  # an unknown id in the path names its path parameter too
                self.add("4xx with no errors[{field, reason}]", what, response)
            elif not all(isinstance(e, dict) and e.get("field") and e.get("reason") for e in errors):
                self.add("4xx with an error lacking field or reason", what, response)

    def assert_none(self) -> None:
        assert not self.problems, "\n".join(f"{kind}: {len(items)} answers, e.g.\n    " + "\n    ".join(items[:4])
                                            for kind, items in self.problems.items())

    async def send(self, client: httpx.AsyncClient, method: str, path: str, what: object,
                   **kwargs: Any) -> httpx.Response | None:
        """The answer, or None when the app raised (in-process, what a server would answer with a 500)."""
        try:
            return await client.request(method, path, **kwargs)
        except Exception as exc:
            self.problems.setdefault("5xx (the app raised)", []).append(f"{what!r} → {exc!r}")
            return None


# --- every role against every route ------------------------------------------------------------------

ALL = {Role.INSPECTOR, Role.ADMIN, Role.SUPERVISOR, Role.SUPERVISION_MEMBER, Role.UNIT, Role.ORGANISER,
       Role.PATROL_DEVICE}
ROUTES: list[tuple[str, str, set[Role], set[Role]]] = [
    # method, path, roles allowed, roles whose answer is unspecified (not checked for 403)
    ("POST", "/v1/units", {Role.INSPECTOR, Role.ADMIN}, set()),
    ("POST", "/v1/units/import", {Role.INSPECTOR, Role.ADMIN}, set()),
    ("GET", "/v1/units", ALL, set()),
    ("GET", "/v1/units/AY", ALL, set()),
    ("POST", "/v1/cycles", {Role.INSPECTOR, Role.ADMIN}, set()),
    ("GET", "/v1/cycles", {Role.INSPECTOR, Role.ADMIN, Role.SUPERVISOR}, set()),
    ("GET", f"/v1/cycles/{RELEASED}", {Role.INSPECTOR, Role.ADMIN, Role.SUPERVISOR}, set()),
    ("GET", f"/v1/cycles/{RELEASED}/scorecard", {Role.INSPECTOR, Role.ADMIN, Role.SUPERVISOR}, set()),
    ("POST", "/v1/findings", {Role.INSPECTOR, Role.ADMIN, Role.SUPERVISION_MEMBER}, set()),
    ("GET", "/v1/findings", {Role.INSPECTOR, Role.ADMIN, Role.SUPERVISION_MEMBER}, set()),
    ("GET", "/v1/findings/F-1", {Role.INSPECTOR, Role.ADMIN, Role.SUPERVISION_MEMBER}, set()),
    ("GET", "/v1/notices", {Role.UNIT, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN}, {Role.SUPERVISION_MEMBER}),
    ("GET", "/v1/notices/{notice}", {Role.UNIT, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN},
     {Role.SUPERVISION_MEMBER}),
    ("GET", "/v1/tasks", {Role.UNIT, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN}, {Role.SUPERVISION_MEMBER}),
    ("GET", "/v1/tasks/{task}", {Role.UNIT, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN}, {Role.SUPERVISION_MEMBER}),
    ("GET", "/v1/tasks/{task}/timeline", {Role.UNIT, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN},
     {Role.SUPERVISION_MEMBER}),
    ("POST", "/v1/tasks/{task}/rectifications", {Role.UNIT}, set()),
    ("POST", "/v1/tasks/{task}/revisits", {Role.INSPECTOR, Role.ADMIN}, set()),
    ("PUT", "/v1/tasks/{task}/listing", {Role.INSPECTOR, Role.ADMIN}, set()),
    ("POST", "/v1/tasks/{task}/assignment", {Role.INSPECTOR, Role.ADMIN}, set()),
]


def token_for(h: Inspection, role: Role) -> dict[str, str]:
    return bearer(role, f"fuzz-{role.value}", unit="AY" if role is Role.UNIT else None,
                  team="一队" if role is Role.PATROL_DEVICE else None, issued_at=h.clock.now())


async def test_every_role_against_every_route(world: World) -> None:
    h, verdicts = world.h, Verdicts()
    expired = bearer(Role.ADMIN, "admin", issued_at=h.clock.now() - timedelta(days=2))
    for method, template, allowed, unspecified in ROUTES:
        path = template.format(task=world.task_ids[0], notice=world.notice_ids[0])
        body: dict[str, Any] = {"json": {}} if method in {"POST", "PUT"} else {}
        if path.endswith("/import"):
            body = {"content": b"id,name,kind,contact,supervising_unit_id\n",
                    "headers": {"content-type": "text/csv"}}
        extra = body.pop("headers", {})
        for auth in [{}, {"Authorization": "Bearer not.a.token"}, {"Authorization": "Basic YWRtaW46YWRtaW4="},
                     expired, {"Authorization": "Bearer " + "x" * 5000}]:
            response = await h.client.request(method, path, headers={**auth, **extra}, **body)
            if response.status_code != 401:
                verdicts.add("not 401 without a valid token", (method, path, str(auth)[:40]), response)
            verdicts.check(response, (method, path))
        for role in sorted(ALL):
            response = await h.client.request(method, path, headers={**token_for(h, role), **extra}, **body)
            verdicts.check(response, (method, path, role.value))
            if role in allowed and response.status_code in (401, 403):
                verdicts.add("allowed role refused", (method, path, role.value), response)
            elif role not in allowed and role not in unspecified and response.status_code != 403:
                verdicts.add("other role not 403", (method, path, role.value), response)
    verdicts.assert_none()


# --- a table of misuse ------------------------------------------------------------------------------

def misuse(world: World) -> list[tuple[str, str, dict[str, Any], dict[str, str], set[int], str | None]]:
    """(method, path, request kwargs, headers, acceptable statuses, field expected in errors or None)."""
    h, task = world.h, world.ay_task
    ins, unit = h.inspector, h.unit("AY")
    good_unit = {"id": "JH", "name": "锦湖街道", "kind": "township", "contact": "3"}
    good_cycle = {"id": "C-new", "name": "第3期", "start_date": "2026-06-01", "unit_ids": ["YH"]}
    good_finding = {"id": "F-new", "cycle_id": COVERT, "township_unit_id": "YH", "category": "fire",
                    "place": "玉海楼", "description": "隐患"}
    raw = {"headers": {"content-type": "application/json"}}
    cases: list[tuple[str, str, dict[str, Any], dict[str, str], set[int], str | None]] = [
        ("POST", "/v1/units", {"content": b"{not json", **raw}, ins, {400, 422}, None),
        ("POST", "/v1/units", {"content": b"\xff\xfe\x00", **raw}, ins, {400, 422}, None),
        ("POST", "/v1/units", {"content": b"[]", **raw}, ins, {422}, None),
        ("POST", "/v1/units", {"content": b"null", **raw}, ins, {422}, None),
        ("POST", "/v1/units", {"json": {**good_unit, "kind": "village"}}, ins, {422}, "kind"),
        ("POST", "/v1/units", {"json": {**good_unit, "name": 7}}, ins, {422}, "name"),
        ("POST", "/v1/units", {"json": {**good_unit, "name": "锦湖\u0000街道"}}, ins, {422}, "name"),
        ("POST", "/v1/units", {"content": json.dumps({**good_unit, "id": "\ud800"}).encode(), **raw}, ins, {422}, "id"),
        ("POST", "/v1/units", {"json": {**good_unit, "id": "AY"}}, ins, {409}, "id"),
        ("POST", "/v1/units", {"json": {**good_unit, "id": "FY", "supervising_unit_id": "nope"}}, ins, {422},
         "supervising_unit_id"),  # FY: an organisation of the directory no test registers
        ("POST", "/v1/units", {"json": {**good_unit, "id": "NOWHERE"}}, ins, {422}, "id"),  # not in the directory
        ("POST", "/v1/units", {"json": {**good_unit, "supervising_unit_id": "JH"}}, ins, {422, 201},
         None),  # a unit supervising itself
        ("POST", "/v1/units", {"json": {**good_unit, "id": "巡" * 70}}, ins, {422}, "id"),
        ("POST", "/v1/units", {"json": {**good_unit, "name": "巡" * 100_000}}, ins, {422}, "name"),
        ("POST", "/v1/units", {"json": {**good_unit, "name": "巡" * 1_000_000}}, ins, {413}, None),
        ("POST", "/v1/units", {"content": b"[" * 100_000 + b"]" * 100_000, **raw}, ins, {400, 413, 422}, None),
        ("POST", "/v1/units", {"content": b'{"id": "a", "name": "b", "kind": "township", "contact": NaN}', **raw},
         ins, {422}, None),
        ("POST", "/v1/cycles", {"json": {**good_cycle, "start_date": "9999-12-25"}}, ins, {422}, None),
        ("POST", "/v1/cycles", {"json": {**good_cycle, "start_date": "9999-06-01", "covert_days": 366,
                                         "rectification_days": 366}}, ins, {422}, None),
        ("POST", "/v1/cycles", {"json": {**good_cycle, "start_date": "0001-01-01"}}, ins, {201, 409, 422}, None),
        ("POST", "/v1/cycles", {"json": {**good_cycle, "start_date": "2026-02-30"}}, ins, {422}, "start_date"),
        ("POST", "/v1/cycles", {"json": {**good_cycle, "covert_days": 0}}, ins, {422}, "covert_days"),
        ("POST", "/v1/cycles", {"json": {**good_cycle, "covert_days": "14"}}, ins, {201, 422}, None),
        ("POST", "/v1/cycles", {"json": {**good_cycle, "day_basis": "lunar"}}, ins, {422}, "day_basis"),
        ("POST", "/v1/cycles", {"json": {**good_cycle, "unit_ids": []}}, ins, {422}, "unit_ids"),
        ("POST", "/v1/cycles", {"json": {**good_cycle, "unit_ids": ["YH", "YH"]}}, ins, {422}, "unit_ids"),
        ("POST", "/v1/cycles", {"json": {**good_cycle, "unit_ids": ["nope"]}}, ins, {422}, "unit_ids"),
        ("POST", "/v1/cycles", {"json": {**good_cycle, "unit_ids": ["AY"], "start_date": "2026-01-10"}}, ins,
         {409}, "unit_ids"),
        ("POST", "/v1/cycles", {"json": {**good_cycle, "id": RELEASED}}, ins, {409}, "id"),
        ("POST", "/v1/cycles", {"json": {**good_cycle, "unit_ids": [f"u{n}" for n in range(6000)]}}, ins, {413, 422},
         None),
        ("POST", "/v1/findings", {"json": {**good_finding, "cycle_id": RELEASED, "township_unit_id": "AY"}}, ins,
         {409}, "cycle_id"),
        ("POST", "/v1/findings", {"json": {**good_finding, "cycle_id": "nope"}}, ins, {404, 422}, None),
        ("POST", "/v1/findings", {"json": {**good_finding, "township_unit_id": "XF"}}, ins, {422},
         "township_unit_id"),
        ("POST", "/v1/findings", {"json": {**good_finding, "township_unit_id": None, "department_unit_id": "YH"}},
         ins, {422}, "department_unit_id"),
        ("POST", "/v1/findings", {"json": {**good_finding, "township_unit_id": None}}, ins, {422}, None),
        ("POST", "/v1/findings", {"json": {**good_finding, "latitude": 27.7}}, ins, {422}, None),
        ("POST", "/v1/findings", {"json": {**good_finding, "latitude": 91, "longitude": 120}}, ins, {422},
         "latitude"),
        ("POST", "/v1/findings", {"content": json.dumps({**good_finding, "id": "F-nan"}).replace(
            '"description"', '"latitude": NaN, "longitude": Infinity, "description"').encode(), **raw}, ins, {422},
         None),
        ("POST", "/v1/findings", {"json": {**good_finding, "category": "火灾"}}, ins, {422}, "category"),
        ("POST", "/v1/findings", {"json": {**good_finding, "evidence": "photo.jpg"}}, ins, {422}, "evidence"),
        ("POST", "/v1/findings", {"json": {**good_finding, "evidence": ["x"] * 51}}, ins, {422}, "evidence"),
        ("POST", "/v1/findings", {"json": {**good_finding, "id": "F-9"}}, h.member(), {409}, "id"),
        ("POST", "/v1/findings", {"json": {**good_finding, "id": "F-1"}}, ins, {409}, "id"),
        ("POST", "/v1/findings", {"json": {**good_finding, "description": "巡" * 4001}}, ins, {422}, "description"),
        ("POST", f"/v1/tasks/{task}/rectifications", {"json": {"text": "ok"}}, unit, {422}, "evidence"),
        ("POST", f"/v1/tasks/{task}/rectifications", {"json": {"text": "", "evidence": ["a"]}}, unit, {422}, "text"),
        ("POST", f"/v1/tasks/{task}/rectifications", {"json": {"text": "ok", "evidence": [None]}}, unit, {422},
         "evidence"),
        ("POST", f"/v1/tasks/{task}/rectifications", {"json": {"text": "\u0000", "evidence": ["a"]}}, unit, {422},
         "text"),
        ("POST", f"/v1/tasks/{task}/revisits", {"json": {"outcome": "maybe"}}, ins, {422}, "outcome"),
        ("POST", f"/v1/tasks/{task}/revisits", {"json": {"outcome": "verified"}}, ins, {409}, None),
        ("POST", "/v1/tasks/nope/revisits", {"json": {"outcome": "verified"}}, ins, {404}, None),
        ("PUT", f"/v1/tasks/{task}/listing", {"json": {"deadline": "9999-12-31", "note": "x"}}, ins, {200, 422}, None),
        ("PUT", f"/v1/tasks/{task}/listing", {"json": {"days": 10**9, "note": "x"}}, ins, {422}, "days"),
        ("PUT", f"/v1/tasks/{task}/listing", {"json": {"days": -1, "note": "x"}}, ins, {422}, "days"),
        ("PUT", f"/v1/tasks/{task}/listing", {"json": {"days": 0, "note": "x"}}, ins, {200, 422}, None),
        ("PUT", f"/v1/tasks/{task}/listing", {"json": {"note": "x"}}, ins, {422}, None),
        ("PUT", f"/v1/tasks/{task}/listing", {"json": {"deadline": "2026-01-01", "note": "x"}}, ins, {422},
         "deadline"),
        ("PUT", f"/v1/tasks/{task}/listing", {"json": {"deadline": "2026-05-01", "days": 5, "note": "x"}}, ins,
         {200, 422}, None),
        ("POST", f"/v1/tasks/{task}/assignment", {"json": {"unit_id": "YH"}}, ins, {409}, None),
        ("POST", f"/v1/tasks/{task}/assignment", {"json": {"unit_id": 5}}, ins, {409, 422}, None),
        ("GET", "/v1/tasks", {"params": {"limit": "0"}}, ins, {422}, "limit"),
        ("GET", "/v1/tasks", {"params": {"limit": "501"}}, ins, {422}, "limit"),
        ("GET", "/v1/tasks", {"params": {"limit": "abc"}}, ins, {422}, "limit"),
        ("GET", "/v1/tasks", {"params": {"overdue": "maybe"}}, ins, {422}, "overdue"),
        ("GET", "/v1/tasks", {"params": {"status": "closed"}}, unit, {200, 422}, None),
        ("GET", "/v1/tasks", {"params": {"after": "\u0000"}}, unit, {200, 422}, None),
        ("GET", "/v1/tasks", {"params": {"unit_id": "巡" * 500}}, unit, {200, 422}, None),
        ("GET", "/v1/notices", {"params": {"year": "-1"}}, unit, {200, 422}, None),
        ("GET", "/v1/notices", {"params": {"year": "99999999999999999999"}}, unit, {200, 422}, None),
        ("GET", "/v1/findings", {"params": {"after": "'; --", "cycle_id": "\u0000"}}, ins, {200, 422}, None),
        ("GET", f"/v1/cycles/{RELEASED}/scorecard", {"params": {"format": "xlsx"}}, ins, {409, 422}, None),
        ("GET", f"/v1/cycles/{COVERT}/scorecard", {}, ins, {409}, None),
        ("GET", "/v1/cycles/nope/scorecard", {}, ins, {404}, None),
        ("GET", "/v1/tasks/%00", {}, unit, {404, 422}, None),
        ("GET", "/v1/units/" + "巡" * 300, {}, unit, {404, 422}, None),
    ]
    # every write its own id, so no case is answered as a conflict with an earlier one
    for n, (_, _, kwargs, _, _, _) in enumerate(cases):
        body = kwargs.get("json")
        if isinstance(body, dict) and body.get("id") in {"C-new", "F-new", "JH"}:
            fresh = f"{body['id']}-{n}"
            if body.get("supervising_unit_id") == body["id"]:
                body["supervising_unit_id"] = fresh
            body["id"] = fresh
    return cases


async def test_a_table_of_misuse_gets_clear_4xx(world: World) -> None:
    verdicts = Verdicts()
    for method, path, kwargs, headers, statuses, field in misuse(world):
        extra = kwargs.get("headers", {})
        rest = {k: v for k, v in kwargs.items() if k != "headers"}
        what = (method, path[:80], str(rest)[:160])
        response = await verdicts.send(world.h.client, method, path, what, headers={**headers, **extra}, **rest)
        if response is None:
            continue
        verdicts.check(response, what)
        if response.status_code not in statuses:
            verdicts.add(f"unexpected status (wanted one of {sorted(statuses)})", what, response)
        elif field is not None and response.status_code >= 400:
            fields = [e.get("field", "") for e in response.json().get("errors") or []]
            if not any(f == field or f.endswith(f".{field}") or f.startswith(f"body.{field}") for f in fields):
                verdicts.add(f"errors do not name {field}", what, response)
    verdicts.assert_none()


# --- CSV imports --------------------------------------------------------------------------------------

async def test_csv_imports_that_are_not_csv_or_have_no_header(world: World) -> None:
    h, verdicts = world.h, Verdicts()
    header = "id,name,kind,contact,supervising_unit_id\n"
    for content, status in [
        (b"", {400}), (b"\x00\x01\x02\xff", {400}), (b"just some words\n", {400}),
        (b'{"id": "a"}', {400}), (b"name,id\nx,y\n", {400}),
    ]:
        response = await h.client.post("/v1/units/import", content=content,
                                        headers={**h.admin, "content-type": "text/csv"})
        assert response.status_code in status, (content, response.status_code, response.text)
        verdicts.check(response, content)
    body = ("\ufeff" + header + "JH,锦湖街道,township,3,\n"
            "JH-1,锦湖社区,township,4,JH\n"                # refers to a row above
            "AY,安阳街道,township,1,\n"                    # unchanged
            "AY,安阳街道（改）,township,1,\n"              # same id, other content
            "BAD,坏单位,village,5,\n"                      # unknown kind
            "ORPH,孤儿,department,6,NOPE\n"                # unknown supervising unit
            ",无编号,township,7,\n"                        # no id
            "SHORT,缺列\n")                                # too few columns
    response = await h.client.post("/v1/units/import", content=body.encode(),
                                   headers={**h.admin, "content-type": "text/csv; charset=utf-8"})
    assert response.status_code == 200, response.text
    report = response.json()
    statuses = [(r["line"], r["status"]) for r in report["rows"]]
    assert statuses == [(2, "created"), (3, "created"), (4, "unchanged"), (5, "rejected"), (6, "rejected"),
                        (7, "rejected"), (8, "rejected"), (9, "rejected")], report
    assert (report["created"], report["unchanged"], report["rejected"]) == (2, 1, 5)
    for row in report["rows"]:
        if row["status"] == "rejected":
            assert row["errors"] and all(e["field"] and e["reason"] for e in row["errors"]), row
    assert (await h.ok("GET", "/v1/units/JH-1", h.unit("AY"), expect=200))["supervising_unit_id"] == "JH"
    # a NUL in one row: the row rejected, or the file refused as not text — never a 5xx, never stored
    nul = await h.client.post("/v1/units/import", content=(header + "NUL,有\x00字,township,8,\n").encode(),
                              headers={**h.admin, "content-type": "text/csv"})
    assert nul.status_code in (200, 400), nul.text
    verdicts.check(nul, "NUL row")
    assert (await h.client.get("/v1/units/NUL", headers=h.admin)).status_code == 404
    verdicts.assert_none()


# --- seeded random bodies and queries ----------------------------------------------------------------

def random_json(rng: random.Random, keys: list[str]) -> Any:
    return shared_random_json(rng, keys, WEIRD_STRINGS, WEIRD_NUMBERS)


def mutate(rng: random.Random, body: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    body = dict(body)
    for _ in range(rng.randrange(1, 4)):
        field = rng.choice([*body, "extra"])
        if rng.random() < 0.2:
            body.pop(field, None)
        else:
            body[field] = random_json(rng, keys)
    return body


def encode(rng: random.Random, body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("seed", range(3))
async def test_random_writes_never_fail_the_server(world: World, seed: int) -> None:
    h, rng, verdicts = world.h, random.Random(seed), Verdicts()
    templates: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("POST", "/v1/units", {"id": "R", "name": "单位", "kind": "township", "contact": "1",
                               "supervising_unit_id": "AY"}, h.admin),
        ("POST", "/v1/cycles", {"id": "C-R", "name": "期", "start_date": "2026-07-01", "covert_days": 14,
                                "rectification_days": 14, "day_basis": "working", "unit_ids": ["YH"],
                                "auto_next": False}, h.inspector),
        ("POST", "/v1/findings", {"id": "F-R", "cycle_id": COVERT, "township_unit_id": "YH", "category": "fire",
                                  "severity": "high", "place": "玉海楼", "latitude": 27.7, "longitude": 120.6,
                                  "description": "隐患", "evidence": ["a"], "hazard_key": "k"}, h.member()),
        ("POST", "/v1/tasks/{task}/rectifications", {"text": "已整改", "evidence": ["oss://a.jpg"]}, h.unit("AY")),
        ("POST", "/v1/tasks/{task}/revisits", {"outcome": "rejected", "remaining": "未完成"}, h.inspector),
        ("PUT", "/v1/tasks/{task}/listing", {"deadline": "2026-03-01", "days": 10, "note": "挂牌"}, h.inspector),
        ("POST", "/v1/tasks/{task}/assignment", {"unit_id": "AY"}, h.admin),
    ]
    for n in range(70):
        method, template, body, who = rng.choice(templates)
        path = template.format(task=rng.choice(world.ids()))
        keys = list(body)
        if rng.random() < 0.15:
            sent: Any = random_json(rng, keys)
        else:
            sent = mutate(rng, body, keys)
            if "id" in sent and rng.random() < 0.7:
                sent["id"] = f"{sent['id']}-{seed}-{n}"
        response = await verdicts.send(h.client, method, path, (method, path, sent), content=encode(rng, sent),
                                       headers={**who, "content-type": "application/json"})
        if response is not None:
            verdicts.check(response, (method, path, sent))
    verdicts.assert_none()


@pytest.mark.parametrize("seed", range(2))
async def test_random_queries_never_fail_the_server(world: World, seed: int) -> None:
    h, rng, verdicts = world.h, random.Random(100 + seed), Verdicts()
    params = {"/v1/tasks": ["status", "cycle_id", "unit_id", "overdue", "limit", "after"],
              "/v1/notices": ["status", "year", "limit", "after"], "/v1/findings": ["cycle_id", "unit_id", "limit",
                                                                                     "after"],
              "/v1/units": ["limit", "after"], "/v1/cycles": ["limit", "after"]}
    values = [*WEIRD_STRINGS, "1", "500", "true", "false", "open", "2026", *world.ids()]
    for _ in range(120):
        path = rng.choice(list(params))
        query = {k: rng.choice(values) for k in rng.sample(params[path], rng.randrange(len(params[path]) + 1))}
        who = rng.choice([h.inspector, h.unit("AY"), h.unit("YH"), h.supervisor, h.member()])
        clean = {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in query.items()}
        response = await verdicts.send(h.client, "GET", path, (path, query), params=clean, headers=who)
        if response is None:
            continue
        verdicts.check(response, (path, query))
        if response.status_code == 200 and set(response.json()) != {"items", "next_after"}:
            verdicts.add("a page is not {items, next_after}", (path, query), response)
    verdicts.assert_none()
