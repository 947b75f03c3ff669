"""The operator's pages over the real alerts service (the other three unreachable on purpose): contacts with a
webhook secret shown once and kept through an edit, delivery dead letters listed and re-sent, a parked outbox row and
a failed timer listed and retried through the service's /v1/operations — never its tables."""

from __future__ import annotations

import json
import re

import asyncpg

from pingan_shared.messaging.outbox import enqueue
from pingan_shared.timers import schedule
from pingan_stack.testing import eventually, sample_factory, sample_scan_event

from .alerts_stage import KIND, TANGXIA, Stage, closed_port_url, field_errors, stage_fixture  # noqa: F401

SECRET = re.compile(r'<code id="new-secret">([^<]+)</code>')


async def test_contacts_a_webhook_secret_is_shown_once_and_kept_through_an_edit(stage: Stage) -> None:
    admin = await stage.console.signed_in("root.ops", "admin")
    made = await admin.submit("/admin/contacts/new", {
        "target": "unit:塘下镇值班室", "display_name": "塘下镇值班室", "locale": "zh",
        "webhook_url": "https://hooks.example.cn/tangxia", "members": ""})
    assert made.status_code == 201, made.text[:2000]
    [secret] = SECRET.findall(made.text)
    contact = await stage.call("GET", "/v1/contacts/unit:塘下镇值班室", stage.admin)
    [fingerprint] = [s["fingerprint"] for s in contact["webhook_secrets"]]
    page = await admin.get("/admin/contacts/unit:塘下镇值班室")
    assert secret not in page.text and fingerprint in page.text, "shown once, then only its fingerprint"

    edited = await admin.submit("/admin/contacts/unit:塘下镇值班室", {
        "display_name": "塘下镇应急值班室", "locale": "zh", "webhook_url": "https://hooks.example.cn/tangxia",
        "subject": "", "email": "", "members": ""}, page="/admin/contacts/unit:塘下镇值班室")
    assert edited.status_code == 303
    kept = await stage.call("GET", "/v1/contacts/unit:塘下镇值班室", stage.admin)
    assert kept["display_name"] == "塘下镇应急值班室" and kept["webhook_secrets"] == [{"fingerprint": fingerprint}]

    rotated = await admin.submit("/admin/contacts/unit:塘下镇值班室/webhook-secret", {"keep_previous": "1"},
                                 page="/admin/contacts/unit:塘下镇值班室")
    [new_secret] = SECRET.findall(rotated.text)
    assert new_secret != secret and rotated.headers.get("cache-control") == "no-store"
    both = await stage.call("GET", "/v1/contacts/unit:塘下镇值班室", stage.admin)
    assert len(both["webhook_secrets"]) == 2 and both["webhook_secrets"][1]["fingerprint"] == fingerprint

    # refusals by their fields, what was typed kept; a target that exists is not overwritten by "new"
    bad = await admin.submit("/admin/contacts/new", {"target": "person:张三", "display_name": "张三",
                                                     "email": "not-an-address", "members": "person:无此人"})
    assert bad.status_code == 422 and field_errors(bad.text, "email") and 'value="not-an-address"' in bad.text
    taken = await admin.submit("/admin/contacts/new", {"target": "unit:塘下镇值班室", "display_name": "重复"},
                               page="/admin/contacts/new")
    assert taken.status_code == 409 and field_errors(taken.text, "target")
    kept_name = (await stage.call("GET", "/v1/contacts/unit:塘下镇值班室", stage.admin))["display_name"]
    assert kept_name == "塘下镇应急值班室"
    shapeless = await admin.submit("/admin/contacts/new", {"target": "team:一队", "display_name": "一队"},
                                   page="/admin/contacts/new")
    assert shapeless.status_code == 422 and field_errors(shapeless.text, "target")

    group = await admin.submit("/admin/contacts/new", {
        "target": f"role:township-supervisor:{TANGXIA}", "display_name": "塘下镇平安办",
        "members": "unit:塘下镇值班室"}, page="/admin/contacts/new")
    assert group.status_code == 303
    groups = await admin.get("/admin/contacts", params={"kind": "role"})
    assert "塘下镇平安办" in groups.text and "塘下镇应急值班室" not in groups.text
    exported = await admin.get("/admin/contacts", params={"format": "csv"})
    assert "unit:塘下镇值班室" in exported.text and secret not in exported.text and new_secret not in exported.text


async def test_a_dead_letter_is_listed_and_resent_and_a_removed_contact_is_said(stage: Stage) -> None:
    hook = closed_port_url() + "/hook"  # nothing answers: the one attempt fails and the message is dead-lettered
    await stage.call("PUT", "/v1/contacts/unit:塘下镇值班室", stage.admin, json={
        "display_name": "塘下镇值班室", "webhook_url": hook, "webhook_secrets": ["contacts-page-secret-0001"]})
    await stage.call("POST", "/v1/policies", stage.admin, json={
        "name": "网格事件推送", "kind": KIND, "steps": [
            {"label": "通报", "delay_seconds": 0, "targets": ["unit:塘下镇值班室"], "channels": ["webhook"]}]})
    await stage.raise_alert("ev-dl", "塘下镇网格事件超时")

    async def dead_letters() -> list[dict[str, object]]:
        page = await stage.call("GET", "/v1/deliveries/dead-letters", stage.admin)
        items: list[dict[str, object]] = page["items"]
        return items

    await eventually(dead_letters, timeout=20, what="the webhook's message dead-lettered")
    [letter] = await dead_letters()
    admin = await stage.console.signed_in("root.ops", "admin")
    listed = await admin.get("/admin/dead-letters")
    assert "unit:塘下镇值班室" in listed.text and "Webhook" in listed.text and "通报" in listed.text
    assert f'/admin/dead-letters/{letter["id"]}/resend' in listed.text
    resent = await admin.submit(f"/admin/dead-letters/{letter['id']}/resend", {}, page="/admin/dead-letters")
    assert resent.headers["location"] == "/admin/dead-letters?done=resent"
    after = await admin.get("/admin/dead-letters", params={"status": "resent"})
    assert "已重发 · admin:root.ops" in after.text

    # it fails again (the receiver is still away): a new dead letter, re-sent by filter once the contact is gone
    await eventually(dead_letters, timeout=20, what="the re-sent message dead-lettered again")
    await stage.call("DELETE", "/v1/contacts/unit:塘下镇值班室", stage.admin)
    [again] = await dead_letters()
    refused = await admin.submit(f"/admin/dead-letters/{again['id']}/resend", {}, page="/admin/dead-letters")
    assert refused.status_code == 409 and "form-errors" in refused.text
    bulk = await admin.submit("/admin/dead-letters/resend", {"channel": "webhook"}, page="/admin/dead-letters")
    assert bulk.headers["location"] == "/admin/dead-letters?done=bulk&n=0&m=1"
    said = await admin.get(bulk.headers["location"])
    assert "已重发 0 条；跳过 1 条" in said.text
    assert "/admin/dead-letters/platform" in said.text, "the platform's dead-letter topics: beside these"


async def test_a_parked_row_and_a_failed_timer_are_listed_and_retried_per_service(stage: Stage) -> None:
    conn = await asyncpg.connect(stage.database_url)
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    try:
        bad = ("alerts bad topic / with spaces", sample_scan_event(sample_factory(""), "一队", 1)[1])
        async with conn.transaction():
            await enqueue(conn, [bad])
        await schedule(conn, "alert-due", "no-such-alert", stage.clock.now(), {})
        await conn.execute("UPDATE timers SET status = 'failed', attempts = 5, last_error = $1 "
                           "WHERE timer_key = 'no-such-alert'", "RuntimeError('模板缺失')")

        async def parked() -> bool:
            return bool(await conn.fetchval("SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL"))
        await eventually(parked, timeout=20, what="alerts' relay parked the row")
    finally:
        await conn.close()

    admin = await stage.console.signed_in("root.ops", "admin")
    overview = await admin.get("/admin/operations")
    alerts_row = overview.text.split('data-service="alerts"')[1].split("</tr>")[0]
    assert "就绪" in alerts_row and alerts_row.count(">1</a>") == 2
    patrol_row = overview.text.split('data-service="patrol"')[1].split("</tr>")[0]
    assert "无法连接" in patrol_row, "a service that does not answer is said so; the others are listed"

    rows = await admin.get("/admin/operations/outbox", params={"service": "alerts"})
    assert "alerts bad topic / with spaces" in rows.text and "InvalidTopic" in rows.text
    exported = await admin.get("/admin/operations/outbox", params={"service": "alerts", "format": "csv"})
    assert "InvalidTopic" in exported.text
    row_id = re.findall(r'/admin/operations/outbox/alerts/(\d+)/retry', rows.text)[0]
    retried = await admin.submit(f"/admin/operations/outbox/alerts/{row_id}/retry", {},
                                 page="/admin/operations/outbox?service=alerts")
    assert retried.headers["location"] == "/admin/operations/outbox?service=alerts&done=retried"
    assert "已交回重试" in (await admin.get(retried.headers["location"])).text

    timers = await admin.get("/admin/operations/timers", params={"service": "alerts"})
    assert "no-such-alert" in timers.text and "模板缺失" in timers.text
    timer_id = re.findall(r'/admin/operations/timers/alerts/(\d+)/retry', timers.text)[0]
    await admin.submit(f"/admin/operations/timers/alerts/{timer_id}/retry", {},
                       page="/admin/operations/timers?service=alerts")
    assert "no-such-alert" not in (await admin.get("/admin/operations/timers", params={"service": "alerts"})).text
    again = await admin.submit(f"/admin/operations/timers/alerts/{timer_id}/retry", {},
                               page="/admin/operations/timers?service=alerts")
    assert again.status_code == 404 and "没有该编号的失败定时器" in again.text

    down = await admin.get("/admin/operations/outbox", params={"service": "patrol"})
    assert down.status_code == 503 and "巡逻服务" in down.text
    supervisor = await stage.console.signed_in("zhou.sup", "supervisor", address="192.0.2.40", scope=TANGXIA)
    for path in ("/admin/operations", "/admin/operations/outbox", "/admin/dead-letters", "/admin/contacts"):
        assert (await supervisor.get(path)).status_code == 403, path
