"""The supervisor's alert pages over the real alerts service: the inbox and its count, the alert list (filters, CSV)
and an alert's ladder and timeline; acknowledging a summons each official for themselves; resolving; silences;
every refusal next to the field it names with what was typed kept; another township's supervisor seeing nothing of
it; the live relay of the unread count."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from pingan_shared.auth import Role

from .alerts_stage import ANYANG, TANGXIA, Stage, field_errors, sse, stage_fixture  # noqa: F401

SUMMARY = "塘下镇韩田村网格事件超时未处置：河道漂浮物"


async def test_a_supervisor_reads_the_inbox_and_the_ladder_acknowledges_a_summons_and_resolves(stage: Stage) -> None:
    await stage.township_office("zhou.sup", "wu.sup")
    await stage.summons_policy("zhou.sup", "wu.sup")
    zhou = await stage.console.signed_in("zhou.sup", "supervisor", scope=TANGXIA)
    alert_id = await stage.raise_alert("ev-1", SUMMARY)
    await stage.until_inbox("zhou.sup", 1)

    inbox = await zhou.get("/alerts/inbox")
    assert inbox.status_code == 200 and SUMMARY in inbox.text
    assert 'id="unread-badge"' in inbox.text and 'data-live-unread="/alerts/live"' in inbox.text
    assert '<span class="badge" id="unread-badge"' in inbox.text and ">1</span>" in inbox.text
    [message_id] = [m["id"] for m in (await stage.call("GET", "/v1/inbox", stage.token(Role.SUPERVISOR, "zhou.sup")))[
        "items"]]
    read = await zhou.submit(f"/alerts/inbox/{message_id}/read", {"back": "/alerts/inbox?unread=true"},
                             page="/alerts/inbox")
    assert read.status_code == 303 and read.headers["location"] == "/alerts/inbox?unread=true"
    assert await stage.inbox_count("zhou.sup") == 0
    outside = await zhou.submit(f"/alerts/inbox/{message_id}/unread", {"back": "https://evil.example/"},
                                page="/alerts/inbox")
    assert outside.headers["location"] == "/alerts/inbox"

    listed = await zhou.get("/alerts", params={"status": "open"})
    assert SUMMARY in listed.text and f"/alerts/{alert_id}" in listed.text and "通报" in listed.text
    exported = await zhou.get("/alerts", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["触发时间 Raised", "级别 Severity", "类型 Kind", "摘要 Summary"]
    assert rows[1][1:4] == ["高", "网格事件超时未处置（grid.event-timeout）", SUMMARY]
    assert len((await zhou.get("/alerts", params={"status": "resolved"})).text.split(SUMMARY)) == 1

    page = await zhou.get(f"/alerts/{alert_id}")
    assert page.status_code == 200
    assert page.text.index("1. 通报") < page.text.index("2. 约谈") < page.text.index("3. 问责")
    assert 'class="step step-current" aria-current="step"' in page.text
    assert "person:zhou.sup · 站内信" in page.text, "who was told at the step reached"
    assert "下一步升级时间" in page.text and "处置时间线" in page.text and "触发" in page.text

    # taken to the summons now: both officials must acknowledge, each for themselves
    escalated = await zhou.submit(f"/alerts/{alert_id}/escalation", {}, page=f"/alerts/{alert_id}")
    assert escalated.headers["location"] == f"/alerts/{alert_id}?done=escalated"
    first = await zhou.submit(f"/alerts/{alert_id}/acknowledgement", {}, page=f"/alerts/{alert_id}")
    assert first.headers["location"] == f"/alerts/{alert_id}?done=partial"
    after_first = await zhou.get(first.headers["location"])
    assert "仍在等待其他人确认" in after_first.text
    waiting = after_first.text.split('<ul class="waiting">')[1].split("</ul>")[0]
    assert "person:wu.sup" in waiting and "person:zhou.sup" not in waiting
    acked = after_first.text.split('<ul class="acked">')[1].split("</ul>")[0]
    assert "supervisor:zhou.sup" in acked

    wu = await stage.console.signed_in("wu.sup", "supervisor", address="192.0.2.11", scope=TANGXIA)
    second = await wu.submit(f"/alerts/{alert_id}/acknowledgement", {}, page=f"/alerts/{alert_id}")
    assert second.headers["location"] == f"/alerts/{alert_id}?done=acknowledged"
    assert (await stage.call("GET", f"/v1/alerts/{alert_id}", stage.admin))["status"] == "acknowledged"

    resolved = await wu.submit(f"/alerts/{alert_id}/resolution", {"reason": "已清理河道"}, page=f"/alerts/{alert_id}")
    done = await wu.get(resolved.headers["location"])
    assert "预警已关闭" in done.text and "已清理河道" in done.text and "supervisor:wu.sup" in done.text
    assert "/acknowledgement" not in done.text, "a resolved alert offers no more actions"

    # the page in English
    wu.client.cookies.set("lang", "en")
    english = await wu.get(f"/alerts/{alert_id}")
    assert "Escalation ladder" in english.text and "resolved" in english.text and "grid.event-timeout" in english.text


async def test_another_townships_supervisor_sees_nothing_of_it_and_roles_keep_to_their_pages(stage: Stage) -> None:
    await stage.township_office("zhou.sup")
    await stage.summons_policy("zhou.sup", "zhou.sup")
    alert_id = await stage.raise_alert("ev-2", SUMMARY)
    other = await stage.console.signed_in("chen.sup", "supervisor", scope=ANYANG)
    listed = await other.get("/alerts")
    assert listed.status_code == 200 and SUMMARY not in listed.text
    detail = await other.get(f"/alerts/{alert_id}")
    assert detail.status_code == 404 and SUMMARY not in detail.text
    assert (await other.get(f"/alerts/{alert_id}", params={"format": "csv"})).status_code == 404
    ack = await other.submit(f"/alerts/{alert_id}/acknowledgement", {}, page="/alerts")
    assert ack.status_code == 404
    assert (await other.get("/alerts", params={"format": "csv"})).text.count(SUMMARY) == 0

    # policies and the auditor are the admins'; an organiser has an inbox but no alert views
    assert (await other.get("/alerts/policies")).status_code == 403
    assert (await other.get("/alerts/auditor")).status_code == 403
    assert (await other.get("/admin/contacts")).status_code == 403
    organiser = await stage.console.signed_in("li.org", "organiser", address="192.0.2.12")
    assert (await organiser.get("/alerts/inbox")).status_code == 200
    assert (await organiser.get("/alerts")).status_code == 403
    assert 'data-live-unread' not in (await organiser.get("/alerts/inbox")).text


async def test_refusals_are_shown_by_their_fields_with_what_was_typed(stage: Stage) -> None:
    await stage.township_office("zhou.sup")
    await stage.summons_policy("zhou.sup", "zhou.sup")
    alert_id = await stage.raise_alert("ev-3", SUMMARY)
    zhou = await stage.console.signed_in("zhou.sup", "supervisor", scope=TANGXIA)

    too_long = "说明" * 260
    refused = await zhou.submit(f"/alerts/{alert_id}/resolution", {"reason": too_long}, page=f"/alerts/{alert_id}")
    assert refused.status_code == 422 and field_errors(refused.text, "reason")
    assert too_long in refused.text

    # a silence in another township is refused by the place named; one ending before it starts by its end
    outside = await zhou.submit("/alerts/silences", {
        "reason": "台风过境", "place": ANYANG, "starts_at": "2026-11-02T10:00", "ends_at": "2026-11-03T10:00"})
    assert outside.status_code == 403
    assert field_errors(outside.text, "place") and 'value="台风过境"' in outside.text
    backwards = await zhou.submit("/alerts/silences", {
        "reason": "台风过境", "place": TANGXIA, "starts_at": "2026-11-03T10:00", "ends_at": "2026-11-02T10:00"})
    assert backwards.status_code == 422 and field_errors(backwards.text, "ends_at")
    garbled = await zhou.submit("/alerts/silences", {"reason": "台风过境", "starts_at": "明天", "ends_at": ""})
    assert garbled.status_code == 422
    assert field_errors(garbled.text, "starts_at") == ["请填写日期和时间，如 2026-03-02 18:00"]
    assert 'value="明天"' in garbled.text

    # the admin's policy form: a target nobody is reachable at, a summons without its reminder interval
    admin = await stage.console.signed_in("root.ops", "admin", address="192.0.2.13")
    form = {"rows": "3", "name": "测试阶梯", "kind": "grid.other", "repeat": "0",
            "steps.0.label": "通报", "steps.0.delay_minutes": "0", "steps.0.targets": "person:无此人",
            "steps.0.channel.inbox": "1",
            "steps.2.label": "约谈", "steps.2.delay_minutes": "60", "steps.2.targets": "person:zhou.sup",
            "steps.2.channel.inbox": "1", "steps.2.requires_all_acks": "1"}
    policy = await admin.submit("/alerts/policies/new", form)
    assert policy.status_code == 422, policy.text[:2000]
    reasons = field_errors(policy.text, "steps.0.targets") + field_errors(policy.text, "steps.2.ack_timeout_minutes")
    assert reasons, policy.text[:3000]
    assert "person:无此人" in policy.text and 'value="测试阶梯"' in policy.text
    bad_minutes = await admin.submit("/alerts/policies/new", {**form, "steps.0.delay_minutes": "一天"})
    assert field_errors(bad_minutes.text, "steps.0.delay_minutes") == ["须为 0 到 527040 之间的分钟数"]
    fixed = await admin.submit("/alerts/policies/new", {**form, "steps.0.targets": "person:zhou.sup",
                                                        "steps.2.ack_timeout_minutes": "1440"})
    assert fixed.status_code == 303, fixed.text[:3000]
    saved = await admin.get(fixed.headers["location"])
    assert "策略已创建" in saved.text and "person:zhou.sup" in saved.text and 'value="1440"' in saved.text
    [stored] = [p for p in await stage.call("GET", "/v1/policies", stage.admin) if p["kind"] == "grid.other"]
    assert [s["label"] for s in stored["steps"]] == ["通报", "约谈"]
    assert stored["steps"][1]["ack_timeout_seconds"] == 86400 and stored["steps"][1]["requires_all_acks"] is True

    listed = await admin.get("/alerts/policies")
    assert "网格事件督办" in listed.text and "inspection.task-overdue" in listed.text, "stored and built-in ladders"
    only = await admin.get("/alerts/policies", params={"kind": "grid.other"})
    assert "测试阶梯" in only.text and "网格事件督办" not in only.text
    exported = await admin.get("/alerts/policies", params={"format": "csv"})
    assert "测试阶梯,grid.other,,,通报 → 约谈,0" in exported.text
    copy = await admin.get("/alerts/policies/new", params={"from": "inspection.task-overdue"})
    assert "挂牌督办" in copy.text and "role:city-office" in copy.text


async def test_silences_are_listed_made_and_ended(stage: Stage) -> None:
    zhou = await stage.console.signed_in("zhou.sup", "supervisor", scope=TANGXIA)
    form = await zhou.get("/alerts/silences")
    assert f'value="{TANGXIA}"' in form.text, "the form starts with the supervisor's own place"
    made = await zhou.submit("/alerts/silences", {"reason": "台风“海葵”过境，暂停督办通知", "place": TANGXIA,
                                                  "starts_at": "2026-11-02T09:00", "ends_at": "2026-11-03T18:00"})
    assert made.headers["location"] == "/alerts/silences?done=created"
    listed = await zhou.get(made.headers["location"])
    assert "静默期已创建" in listed.text and "台风“海葵”过境" in listed.text and "2026-11-03 18:00" in listed.text
    [silence] = await stage.call("GET", "/v1/silences", stage.admin)
    assert silence["ends_at"].startswith("2026-11-03T10:00:00")  # 18:00 in Asia/Shanghai
    ended = await zhou.submit(f"/alerts/silences/{silence['id']}/end", {}, page="/alerts/silences")
    assert ended.headers["location"] == "/alerts/silences?done=ended"
    everything = await zhou.get("/alerts/silences", params={"current": "false"})
    assert "已提前结束" in everything.text
    exported = await zhou.get("/alerts/silences", params={"current": "false", "format": "csv"})
    assert "台风“海葵”过境" in exported.text and exported.text.startswith("\ufeff原因 Reason")


async def test_the_unread_count_is_relayed_live_and_the_relay_is_only_for_a_live_session(stage: Stage) -> None:
    await stage.township_office("zhou.sup")
    await stage.summons_policy("zhou.sup", "zhou.sup")
    zhou = await stage.console.signed_in("zhou.sup", "supervisor", scope=TANGXIA)
    stage.clock.advance(timedelta(minutes=20))

    async def raise_one() -> None:
        await stage.raise_alert("ev-live", SUMMARY)

    status, events = await sse(zhou, "/alerts/live", lambda got: ("unread", "1") in got, during=raise_one)
    assert status == 200
    assert events[0] == ("unread", "0")
    relayed = [json.loads(data) for kind, data in events if kind == "alert"]
    assert relayed and relayed[0]["event"] == "alert-raised" and relayed[0]["summary"] == SUMMARY
    assert set(relayed[0]) <= {"event", "alert_id", "kind", "status", "severity", "summary", "label", "step",
                               "place_name"}, "only what the badge and the note need"
    assert ("unread", "1") in events

    # the relay does not keep the session alive; a signed-out browser gets 204 (EventSource stops)
    stranger = stage.console.browser(address="192.0.2.20")
    assert (await sse(stranger, "/alerts/live", lambda got: True))[0] == 204
    organiser = await stage.console.signed_in("li.org", "organiser", address="192.0.2.21")
    assert (await sse(organiser, "/alerts/live", lambda got: True))[0] == 204
    # signed in 20 minutes before the relay, idle 20 minutes after it: past the 30 minutes' idle limit
    stage.clock.advance(timedelta(minutes=20))
    assert (await zhou.get("/alerts/inbox")).status_code == 303
