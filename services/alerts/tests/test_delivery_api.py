"""The contacts directory and the inbox over HTTP, tried from the outside: only admins touch contacts; a person
reads and marks only their own inbox (another's message answers as one that does not exist); bad input is a
422 naming the field."""

from __future__ import annotations

from typing import Any

from pingan_shared.auth import Role
from pingan_stack.testing import bearer

SECRET = "contacts-api-secret-0001"


async def test_contacts_are_for_admins_only(delivery_service: Any) -> None:
    alerts = await delivery_service()
    body = {"display_name": "张三", "email": "zhangsan@example.cn", "subject": "张三"}
    for role in (Role.SUPERVISOR, Role.UNIT, Role.INSPECTOR, Role.MEMBER, Role.INTEGRATION, Role.ORGANISER):
        headers = alerts.auth(role, "张三", unit="塘下镇" if role is Role.UNIT else None)
        assert (await alerts.client.put("/v1/contacts/person:张三", json=body, headers=headers)).status_code == 403
        assert (await alerts.client.get("/v1/contacts", headers=headers)).status_code == 403
        assert (await alerts.client.get("/v1/contacts/person:张三", headers=headers)).status_code == 403
        assert (await alerts.client.delete("/v1/contacts/person:张三", headers=headers)).status_code == 403
        rotation = await alerts.client.post("/v1/contacts/person:张三/webhook-secret",
                                            json={"secret": SECRET}, headers=headers)
        assert rotation.status_code == 403
    assert (await alerts.client.get("/v1/contacts")).status_code == 401
    async with alerts.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM contacts") == 0

    created = await alerts.client.put("/v1/contacts/person:张三", json=body, headers=alerts.admin)
    assert created.status_code == 201 and created.json()["kind"] == "person"
    again = await alerts.client.put("/v1/contacts/person:张三", json={**body, "locale": "en"}, headers=alerts.admin)
    assert again.status_code == 200 and again.json()["locale"] == "en"
    group = await alerts.client.put("/v1/contacts/role:city-office",
                                    json={"display_name": "市平安办", "members": ["person:张三"]}, headers=alerts.admin)
    assert group.status_code == 201 and group.json()["members"] == ["person:张三"]
    listed = await alerts.client.get("/v1/contacts", params={"kind": "role"}, headers=alerts.admin)
    assert [c["target"] for c in listed.json()["items"]] == ["role:city-office"]
    assert (await alerts.client.delete("/v1/contacts/person:张三", headers=alerts.admin)).status_code == 204
    assert (await alerts.client.get("/v1/contacts/person:张三", headers=alerts.admin)).status_code == 404
    group_after = await alerts.client.get("/v1/contacts/role:city-office", headers=alerts.admin)
    assert group_after.json()["members"] == []


async def test_bad_contacts_are_refused_naming_the_field(delivery_service: Any) -> None:
    alerts = await delivery_service()
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("person:张三", {"display_name": "张三", "email": "not-an-address"}, "email"),
        ("person:张三", {"display_name": "张三", "webhook_url": "ftp://x"}, "webhook_url"),
        ("person:张三", {"display_name": "张三", "webhook_secrets": ["short"]}, "webhook_secrets.0"),
        ("person:张三", {"display_name": "张三", "webhook_secrets": [SECRET, SECRET + "1", SECRET + "2"]},
         "webhook_secrets"),
        ("person:张三", {"display_name": "张三", "members": ["person:李四"]}, "members"),
        ("role:office", {"display_name": "办公室", "members": ["person:无此人"]}, "members"),
        ("role:office", {"display_name": "办公室", "subject": "office"}, "subject"),
        ("person:张三", {"display_name": " "}, "display_name"),
        ("person:张三", {"display_name": "张三", "colour": "red"}, "colour"),
    ]
    for target, body, field in cases:
        response = await alerts.client.put(f"/v1/contacts/{target}", json=body, headers=alerts.admin)
        assert response.status_code == 422, (body, response.text)
        fields = [e["field"] for e in response.json()["errors"]]
        assert any(f == field or f.endswith("." + field) or f.startswith(field) for f in fields), (field, fields)
    response = await alerts.client.put("/v1/contacts/team:x", json={"display_name": "x"}, headers=alerts.admin)
    assert response.status_code == 422 and response.json()["errors"][0]["field"].endswith("target")


async def test_inbox_read_unread_and_only_ones_own(delivery_service: Any, make_notification: Any,
                                                   add_contact: Any) -> None:
    alerts = await delivery_service()
    async with alerts.db() as conn:
        await add_contact(conn, "person:张三", subject="张三")
        await add_contact(conn, "person:李四", subject="李四")
        await add_contact(conn, "unit:塘下镇", subject="塘下镇联络员")
        await add_contact(conn, "person:巡逻组织员", subject="巡逻组织员")
    await alerts.enqueue([make_notification(t, ("inbox",))
                          for t in ("person:张三", "person:李四", "unit:塘下镇", "person:巡逻组织员")])

    async def delivered() -> bool:
        async with alerts.db() as conn:
            return bool(await conn.fetchval("SELECT count(*) FROM inbox_messages") == 4)
    await alerts.until(delivered, "four inbox messages")

    zhang = alerts.auth(Role.SUPERVISOR, "张三")
    li = alerts.auth(Role.SUPERVISOR, "李四", scope="塘下镇")
    unit = alerts.auth(Role.UNIT, "塘下镇联络员", unit="塘下镇")
    own = (await alerts.client.get("/v1/inbox", headers=zhang)).json()
    assert own["unread"] == 1 and len(own["items"]) == 1
    message = own["items"][0]
    assert message["read"] is False and "塘下镇消防通道堵塞整改逾期" in message["body"]
    assert message["alert_ids"] == ["a-1"]
    li_message = (await alerts.client.get("/v1/inbox", headers=li)).json()["items"][0]
    assert li_message["id"] != message["id"]
    assert (await alerts.client.get("/v1/inbox", headers=unit)).json()["unread"] == 1

    # a patrol organiser (a target of the built-in patrol and roster ladders) reads and marks its own inbox
    organiser = alerts.auth(Role.ORGANISER, "巡逻组织员")
    organiser_inbox = await alerts.client.get("/v1/inbox", headers=organiser)
    assert organiser_inbox.status_code == 200, organiser_inbox.text
    assert organiser_inbox.json()["unread"] == 1 and len(organiser_inbox.json()["items"]) == 1
    organiser_message = organiser_inbox.json()["items"][0]
    assert organiser_message["id"] not in (message["id"], li_message["id"])
    marked = await alerts.client.post(f"/v1/inbox/{organiser_message['id']}/read", headers=organiser)
    assert marked.status_code == 200 and marked.json()["read"] is True
    assert (await alerts.client.get("/v1/inbox", headers=organiser)).json()["unread"] == 0

    # 李四 (an admin, an organiser) cannot read or mark 张三's message: it does not exist for them
    for intruder in (li, alerts.admin, unit, organiser):
        for action in ("read", "unread"):
            response = await alerts.client.post(f"/v1/inbox/{message['id']}/{action}", headers=intruder)
            assert response.status_code == 404 and response.json()["errors"][0]["field"] == "message_id"
    # a member reads its own inbox (roster's handoff reminders reach it there): 张三 as a member is another inbox
    member = await alerts.client.get("/v1/inbox", headers=alerts.auth(Role.MEMBER, "队员-张三"))
    assert member.status_code == 200 and member.json()["items"] == []
    for role in (Role.INSPECTOR, Role.INTEGRATION):
        assert (await alerts.client.get("/v1/inbox", headers=alerts.auth(role, "张三"))).status_code == 403
    device = bearer(Role.PATROL_DEVICE, "张三", team="team-1", issued_at=alerts.clock.now())
    assert (await alerts.client.get("/v1/inbox", headers=device)).status_code == 403
    assert (await alerts.client.get("/v1/inbox")).status_code == 401

    read = await alerts.client.post(f"/v1/inbox/{message['id']}/read", headers=zhang)
    assert read.status_code == 200 and read.json()["read"] is True
    first_read_at = read.json()["read_at"]
    await alerts.advance(60)
    again = await alerts.client.post(f"/v1/inbox/{message['id']}/read", headers=zhang)
    assert again.json()["read_at"] == first_read_at, "the first reading time stays"
    after = (await alerts.client.get("/v1/inbox", headers=zhang)).json()
    assert after["unread"] == 0
    assert (await alerts.client.get("/v1/inbox", params={"unread": "true"}, headers=zhang)).json()["items"] == []
    unread = await alerts.client.post(f"/v1/inbox/{message['id']}/unread", headers=zhang)
    assert unread.json()["read"] is False
    assert (await alerts.client.get("/v1/inbox", headers=zhang)).json()["unread"] == 1
    assert (await alerts.client.get("/v1/inbox", headers=li)).json()["unread"] == 1, "李四's untouched"
    assert (await alerts.client.post("/v1/inbox/0/read", headers=zhang)).status_code == 422


async def test_an_edit_without_secrets_keeps_the_contacts_own_and_an_empty_list_removes_them(
    delivery_service: Any,
) -> None:
    # secrets are write-only (answers show fingerprints): an edit that cannot send them back must not drop them
    alerts = await delivery_service()
    target = "/v1/contacts/unit:塘下镇"
    body = {"display_name": "塘下镇值班室", "webhook_url": "https://hooks.example.cn/tx"}
    created = await alerts.client.put(target, json={**body, "webhook_secrets": [SECRET]}, headers=alerts.admin)
    assert created.status_code == 201
    kept = await alerts.client.put(target, json={**body, "display_name": "塘下镇应急办"}, headers=alerts.admin)
    assert kept.status_code == 200 and kept.json()["display_name"] == "塘下镇应急办"
    assert kept.json()["webhook_secrets"] == created.json()["webhook_secrets"] != []
    removed = await alerts.client.put(target, json={**body, "webhook_secrets": []}, headers=alerts.admin)
    assert removed.json()["webhook_secrets"] == []
    fresh = await alerts.client.put("/v1/contacts/person:李四", json={"display_name": "李四"}, headers=alerts.admin)
    assert fresh.status_code == 201 and fresh.json()["webhook_secrets"] == []
