"""Signed webhooks over a real loopback receiver: retried with backoff until taken, the same idempotency key on
every attempt, a valid HMAC signature (with each of two secrets during a rotation), each attempt on the
alert's timeline."""

from __future__ import annotations

import json
import time
from typing import Any

from alerts.delivery.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify
from alerts.store.timeline import read as read_timeline

SECRET = "tangxia-webhook-secret-0001"
NEW_SECRET = "tangxia-webhook-secret-0002"


async def test_fails_twice_then_succeeds_once_with_the_same_key_and_a_valid_signature(
        delivery_service: Any, webhook_receiver: Any, make_notification: Any, add_contact: Any) -> None:
    receiver = await webhook_receiver(fail_first=2)
    alerts = await delivery_service(delivery_backoff_base_seconds=30)
    async with alerts.db() as conn:
        await add_contact(conn, "person:张三", webhook_url=receiver.url, secrets=[SECRET])
    assert await alerts.enqueue([make_notification("person:张三", ("webhook",))]) == 1

    await alerts.until(lambda: len(receiver.requests) >= 1, "the first attempt")
    await alerts.until(_message_is(alerts, "pending"), "the first failure recorded")
    assert len(receiver.requests) == 1  # the backoff holds the retry: 30 s have not passed
    await alerts.advance(30)
    await alerts.until(lambda: len(receiver.requests) >= 2, "the second attempt")
    await alerts.until(_message_is(alerts, "pending"), "the second failure recorded")
    await alerts.advance(59)
    await alerts.quiet_for(0.3)
    assert len(receiver.requests) == 2, "the second retry waits 60 s (doubled)"
    await alerts.advance(1)
    await alerts.until(_message_is(alerts, "sent"), "sent on the third attempt")
    await alerts.advance(3600)
    await alerts.quiet_for(0.3)

    assert len(receiver.requests) == 3
    keys = {headers[IDEMPOTENCY_HEADER] for headers, _ in receiver.requests}
    assert len(keys) == 1 and receiver.accepted == list(keys)
    bodies = {body for _, body in receiver.requests}
    assert len(bodies) == 1, "every attempt carries the same body"
    for headers, body in receiver.requests:
        assert verify(SECRET, headers, body, now=int(time.time()))
        assert not verify("another-secret-entirely", headers, body, now=int(time.time()))
    document = json.loads(bodies.pop())
    assert document["idempotency_key"] == keys.pop()
    assert document["notifications"][0]["summary"] == "塘下镇消防通道堵塞整改逾期"
    assert document["notifications"][0]["label"] == "通报"
    assert "塘下镇消防通道堵塞整改逾期" in document["title"]

    async with alerts.db() as conn:
        attempts = await conn.fetch("SELECT attempt, outcome FROM delivery_attempts ORDER BY attempt")
        timeline = await read_timeline(conn, "a-1")
    assert [(a["attempt"], a["outcome"]) for a in attempts] == [(1, "retry"), (2, "retry"), (3, "sent")]
    assert [(t["detail"]["attempt"], t["detail"]["outcome"]) for t in timeline
            if t["kind"] == "delivery-attempt"] == [(1, "retry"), (2, "retry"), (3, "sent")]
    assert "503" in timeline[0]["detail"]["reason"]


async def test_two_valid_secrets_during_a_rotation_both_verify(
        delivery_service: Any, webhook_receiver: Any, make_notification: Any) -> None:
    receiver = await webhook_receiver()
    alerts = await delivery_service()
    contact = {"display_name": "塘下镇值班室", "webhook_url": receiver.url, "webhook_secrets": [SECRET]}
    response = await alerts.client.put("/v1/contacts/unit:塘下镇", json=contact, headers=alerts.admin)
    assert response.status_code == 201, response.text
    assert SECRET not in response.text, "secrets are never shown"
    response = await alerts.client.post("/v1/contacts/unit:塘下镇/webhook-secret", json={"secret": NEW_SECRET},
                                        headers=alerts.admin)
    assert response.status_code == 200, response.text
    assert len(response.json()["webhook_secrets"]) == 2

    await alerts.enqueue([make_notification("unit:塘下镇", ("webhook",))])
    await alerts.until(lambda: len(receiver.accepted) == 1, "the notification")
    headers, body = receiver.requests[0]
    assert headers[SIGNATURE_HEADER].count("v1=") == 2
    assert verify(SECRET, headers, body, now=int(time.time())), "the old secret still verifies"
    assert verify(NEW_SECRET, headers, body, now=int(time.time())), "the new secret verifies"

    # the rotation finished: only the new secret signs
    response = await alerts.client.post("/v1/contacts/unit:塘下镇/webhook-secret",
                                        json={"secret": "tangxia-webhook-secret-0003", "keep_previous": False},
                                        headers=alerts.admin)
    assert response.status_code == 200
    await alerts.enqueue([make_notification("unit:塘下镇", ("webhook",), loop=1)])
    await alerts.until(lambda: len(receiver.accepted) == 2, "the second notification")
    headers, body = receiver.requests[1]
    assert headers[SIGNATURE_HEADER].count("v1=") == 1
    assert verify("tangxia-webhook-secret-0003", headers, body, now=int(time.time()))
    assert not verify(SECRET, headers, body, now=int(time.time()))
    assert not verify(NEW_SECRET, headers, body, now=int(time.time()))


def _message_is(alerts: Any, status: str) -> Any:
    async def check() -> bool:
        states = await alerts.message_states()
        return bool(states) and states[0]["status"] == status
    return check
