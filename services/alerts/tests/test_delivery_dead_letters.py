"""Delivery dead letters over the real database and broker, through the HTTP API: a webhook receiver that fails until
told to succeed → a dead letter → listed → re-sent → delivered once under the same idempotency key; re-sending
twice (also at once) is harmless; a re-sent message gets a fresh attempt budget while its attempts keep their
numbers, and failing again makes a new dead letter; filters and paging; the bulk re-send; a recipient's contact
removed meanwhile is a 409; roles from outside (no token 401, the other roles 403), an unknown id 404."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

from alerts.delivery.signing import IDEMPOTENCY_HEADER
from alerts.domain.contacts import Contact
from alerts.domain.delivery import resend_refusal
from alerts.store.timeline import read as read_timeline
from pingan_shared.auth import Role

SECRET = "dead-letter-secret-0001"
LIST = "/v1/deliveries/dead-letters"
BULK = "/v1/deliveries/dead-letters/resend"
ADMIN_BY = "admin:平安办管理员"


def one(dead_letter_id: int) -> str:
    return f"/v1/deliveries/dead-letters/{dead_letter_id}/resend"


def _no_message_sending(alerts: Any) -> Any:
    async def check() -> bool:
        states = await alerts.message_states()
        return bool(states) and all(s["status"] != "sending" for s in states)
    return check


async def _attempt(alerts: Any, receiver: Any, n: int, then_advance: float) -> None:
    """Wait for the receiver's ``n``-th request and its result, then move the clock past the backoff."""
    await alerts.until(lambda: len(receiver.requests) == n, f"attempt {n}")
    await alerts.until(_no_message_sending(alerts), f"attempt {n} recorded")
    await alerts.advance(then_advance)


async def _dead_lettered_webhook(delivery_service: Any, webhook_receiver: Any, make_notification: Any,
                                 add_contact: Any, what: str) -> tuple[Any, Any]:
    """A service whose one webhook message to 张三 failed both its attempts (the receiver keeps failing) and was
    dead-lettered; the receiver and the service."""
    receiver = await webhook_receiver(fail_first=1000)
    alerts = await delivery_service(delivery_max_attempts=2)
    async with alerts.db() as conn:
        await add_contact(conn, "person:张三", webhook_url=receiver.url, secrets=[SECRET])
    await alerts.enqueue([make_notification("person:张三", ("webhook",))])
    await _attempt(alerts, receiver, 1, 1)
    await _attempt(alerts, receiver, 2, 0)
    await alerts.until(lambda: _open_letters(alerts), what)
    return receiver, alerts


async def _open_letters(alerts: Any) -> int:
    async with alerts.db() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM delivery_dead_letters WHERE resent_at IS NULL")
    return count


async def _attempts(alerts: Any) -> list[tuple[int, str]]:
    async with alerts.db() as conn:
        return [(r["attempt"], r["outcome"]) for r in await conn.fetch(
            "SELECT attempt, outcome FROM delivery_attempts ORDER BY attempt")]


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port bound by nobody listening (chosen by the OS): a connection to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


async def test_a_dead_letter_is_listed_resent_and_delivered_once_under_its_key(
        delivery_service: Any, webhook_receiver: Any, make_notification: Any, add_contact: Any) -> None:
    receiver, alerts = await _dead_lettered_webhook(delivery_service, webhook_receiver, make_notification,
                                                    add_contact, "the dead letter")

    listed = await alerts.client.get(LIST, headers=alerts.admin)
    assert listed.status_code == 200 and listed.json()["next_after"] is None
    (letter,) = listed.json()["items"]
    assert (letter["status"], letter["recipient"], letter["channel"], letter["attempts"]) == (
        "open", "person:张三", "webhook", 2)
    assert "503" in letter["reason"] and letter["failed_at"] and letter["message_status"] == "failed"
    assert letter["notifications"] == [{
        "alert_id": "a-1", "dedup_key": "inspection:task:t-1:overdue", "kind": "inspection.task-overdue",
        "event": "escalated", "step": 1, "label": "通报", "loop": 0, "target": "person:张三"}]

    receiver.fail_first = 0  # the receiver is back
    first, second = await asyncio.gather(alerts.client.post(one(letter["id"]), headers=alerts.admin),
                                         alerts.client.post(one(letter["id"]), headers=alerts.admin))
    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == "resent" and first.json()["resent_by"] == ADMIN_BY
    same = ("id", "status", "resent_at", "resent_by", "attempts", "idempotency_key")
    assert {k: first.json()[k] for k in same} == {k: second.json()[k] for k in same}
    await alerts.until(lambda: len(receiver.accepted) == 1, "re-sent and delivered")
    await alerts.until(_no_message_sending(alerts), "the result recorded")
    again = await alerts.client.post(one(letter["id"]), headers=alerts.admin)
    assert again.status_code == 200 and {k: again.json()[k] for k in same} == {k: first.json()[k] for k in same}
    assert again.json()["message_status"] == "sent"
    await alerts.quiet_for(0.3)

    assert len(receiver.requests) == 3, "two failed attempts and one re-send; the repeats sent nothing"
    assert {headers[IDEMPOTENCY_HEADER] for headers, _ in receiver.requests} == {letter["idempotency_key"]}
    assert await _attempts(alerts) == [(1, "retry"), (2, "failed"), (3, "sent")]
    async with alerts.db() as conn:
        message = await conn.fetchrow("SELECT status, attempts, attempt_base, resent FROM delivery_messages")
        notification_status = await conn.fetchval("SELECT status FROM deliveries")
        timeline = await read_timeline(conn, "a-1")
    assert dict(message) == {"status": "sent", "attempts": 3, "attempt_base": 2, "resent": 1}
    assert notification_status == "sent"
    assert [t["kind"] for t in timeline][-3:] == ["delivery-failed", "delivery-resent", "delivery-attempt"]
    resent_entry = timeline[-2]["detail"]
    assert (resent_entry["by"], resent_entry["dead_letter_id"], resent_entry["attempts_before"]) == (
        ADMIN_BY, letter["id"], 2)
    assert timeline[-1]["detail"]["outcome"] == "sent" and timeline[-1]["detail"]["attempt"] == 3

    assert (await alerts.client.get(LIST, headers=alerts.admin)).json()["items"] == []
    resent = (await alerts.client.get(LIST, params={"status": "resent"}, headers=alerts.admin)).json()["items"]
    assert [(r["id"], r["resent_by"], r["message_status"]) for r in resent] == [(letter["id"], ADMIN_BY, "sent")]

    async def gauge_cleared() -> bool:
        return "pingan_alerts_delivery_dead_letters 0.0" in await alerts.metrics()
    await alerts.until(gauge_cleared, "the dead-letter gauge counts open ones only")


async def test_a_resent_message_gets_a_fresh_budget_and_failing_again_is_a_new_dead_letter(
        delivery_service: Any, webhook_receiver: Any, make_notification: Any, add_contact: Any) -> None:
    receiver, alerts = await _dead_lettered_webhook(delivery_service, webhook_receiver, make_notification,
                                                    add_contact, "the first dead letter")
    (first,) = (await alerts.client.get(LIST, headers=alerts.admin)).json()["items"]

    # Re-sent while the receiver is still down: two more attempts (numbered on, backoff from the start), then a
    # second dead letter; the first one stays re-sent.
    assert (await alerts.client.post(one(first["id"]), headers=alerts.admin)).status_code == 200
    await _attempt(alerts, receiver, 3, 1)
    await _attempt(alerts, receiver, 4, 0)
    await alerts.until(lambda: _open_letters(alerts), "the second dead letter")
    assert await _attempts(alerts) == [(1, "retry"), (2, "failed"), (3, "retry"), (4, "failed")]
    everything = (await alerts.client.get(LIST, params={"status": "all"}, headers=alerts.admin)).json()["items"]
    assert [(d["status"], d["attempts"]) for d in everything] == [("resent", 2), ("open", 4)]
    second = everything[1]
    assert second["id"] != first["id"] and second["message_id"] == first["message_id"]

    # Re-sending the old one again changes nothing; the new one is what goes out.
    receiver.fail_first = 0
    stale = await alerts.client.post(one(first["id"]), headers=alerts.admin)
    assert stale.status_code == 200 and stale.json()["resent_at"] == everything[0]["resent_at"]
    await alerts.quiet_for(0.3)
    assert len(receiver.requests) == 4 and await _open_letters(alerts) == 1
    assert (await alerts.client.post(one(second["id"]), headers=alerts.admin)).status_code == 200
    await alerts.until(lambda: len(receiver.accepted) == 1, "delivered at last")
    await alerts.until(_no_message_sending(alerts), "the result recorded")
    assert (await _attempts(alerts))[-1] == (5, "sent")
    assert {headers[IDEMPOTENCY_HEADER] for headers, _ in receiver.requests} == {first["idempotency_key"]}


async def test_filters_paging_bulk_resend_and_a_removed_contact(
        delivery_service: Any, webhook_receiver: Any, make_notification: Any, add_contact: Any) -> None:
    receiver = await webhook_receiver(fail_first=1000)
    with refused_port() as smtp_port:
        alerts = await delivery_service(delivery_max_attempts=1, smtp_port=smtp_port, smtp_timeout_seconds=2)
        async with alerts.db() as conn:
            await add_contact(conn, "person:张三", webhook_url=receiver.url, secrets=[SECRET])
            await add_contact(conn, "person:李四", webhook_url=receiver.url, secrets=[SECRET])
            await add_contact(conn, "person:王五", email="wangwu@example.cn")
        await alerts.enqueue([make_notification("person:张三", ("webhook",), alert_id="a-1"),
                              make_notification("person:李四", ("webhook",), alert_id="a-2"),
                              make_notification("person:王五", ("email",), alert_id="a-3")])
        await alerts.until(lambda: _open_letters_are(alerts, 3), "three dead letters")

    async def listed(**params: Any) -> list[str]:
        answer = await alerts.client.get(LIST, params=params, headers=alerts.admin)
        assert answer.status_code == 200, answer.text
        return [d["recipient"] for d in answer.json()["items"]]

    assert sorted(await listed()) == ["person:张三", "person:李四", "person:王五"]
    assert await listed(channel="email") == ["person:王五"]
    assert await listed(recipient="person:李四") == ["person:李四"]
    assert await listed(alert_id="a-1") == ["person:张三"]
    assert await listed(channel="email", alert_id="a-1") == []
    page = (await alerts.client.get(LIST, params={"limit": 2}, headers=alerts.admin)).json()
    assert len(page["items"]) == 2 and page["next_after"] == page["items"][-1]["id"]
    rest = (await alerts.client.get(LIST, params={"limit": 2, "after": page["next_after"]},
                                    headers=alerts.admin)).json()
    assert len(rest["items"]) == 1 and rest["next_after"] is None
    by_recipient = {d["recipient"]: d for d in (await alerts.client.get(LIST, headers=alerts.admin)).json()["items"]}
    assert "smtp" in by_recipient["person:王五"]["reason"]

    # 王五's contact is removed: his dead letter cannot be re-sent (there is no address to send it to).
    assert (await alerts.client.delete("/v1/contacts/person:王五", headers=alerts.admin)).status_code == 204
    refused = await alerts.client.post(one(by_recipient["person:王五"]["id"]), headers=alerts.admin)
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "dead_letter_id" and "removed" in refused.json()["detail"]

    receiver.fail_first = 0  # the receivers are back: re-send after the outage
    only = await alerts.client.post(BULK, json={"channel": "webhook", "recipient": "person:李四"}, headers=alerts.admin)
    assert only.status_code == 200
    assert only.json() == {"resent": 1, "ids": [by_recipient["person:李四"]["id"]], "skipped": []}
    rest_of = await alerts.client.post(BULK, json={}, headers=alerts.admin)
    assert rest_of.status_code == 200 and rest_of.json()["resent"] == 1
    assert rest_of.json()["ids"] == [by_recipient["person:张三"]["id"]]
    assert [s["id"] for s in rest_of.json()["skipped"]] == [by_recipient["person:王五"]["id"]]
    await alerts.until(lambda: len(receiver.accepted) == 2, "both webhooks delivered")
    assert await listed() == ["person:王五"]
    none_left = await alerts.client.post(BULK, json={"channel": "webhook"}, headers=alerts.admin)
    assert none_left.json() == {"resent": 0, "ids": [], "skipped": []}

    bad = await alerts.client.post(BULK, json={"channel": "fax"}, headers=alerts.admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.channel"
    assert (await alerts.client.get(LIST, params={"status": "lost"}, headers=alerts.admin)).status_code == 422


async def _open_letters_are(alerts: Any, n: int) -> bool:
    return await _open_letters(alerts) == n


async def test_dead_letters_are_for_admins_only_and_an_unknown_one_is_404(delivery_service: Any) -> None:
    alerts = await delivery_service()
    for role in (Role.SUPERVISOR, Role.UNIT, Role.ORGANISER, Role.MEMBER, Role.INSPECTOR, Role.INTEGRATION):
        headers = alerts.auth(role, "张三", unit="塘下镇" if role is Role.UNIT else None)
        assert (await alerts.client.get(LIST, headers=headers)).status_code == 403
        assert (await alerts.client.post(one(1), headers=headers)).status_code == 403
        assert (await alerts.client.post(BULK, json={}, headers=headers)).status_code == 403
    scoped = alerts.auth(Role.SUPERVISOR, "塘下镇督导", scope="塘下镇")
    assert (await alerts.client.get(LIST, headers=scoped)).status_code == 403
    assert (await alerts.client.get(LIST)).status_code == 401
    assert (await alerts.client.post(one(1))).status_code == 401
    assert (await alerts.client.post(BULK, json={})).status_code == 401

    unknown = await alerts.client.post(one(987654), headers=alerts.admin)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "dead_letter_id"
    assert (await alerts.client.post(BULK, json={}, headers=alerts.admin)).json() == {
        "resent": 0, "ids": [], "skipped": []}


def test_a_dead_letter_is_resendable_only_to_a_contact_that_still_has_the_channel() -> None:
    zhang = Contact(target="person:张三", display_name="张三", subject="张三", locale="zh", email=None,
                    webhook_url="https://hooks.example.cn/pingan", webhook_secrets=(SECRET,))
    assert resend_refusal(zhang, "webhook") is None and resend_refusal(zhang, "inbox") is None
    assert "removed" in (resend_refusal(None, "webhook") or "")
    assert "email" in (resend_refusal(zhang, "email") or "")
