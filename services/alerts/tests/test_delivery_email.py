"""E-mail over SMTP to a real aiosmtpd server on a loopback port: the Chinese subject and body arrive intact in
a proper MIME message (UTF-8, encoded-word subject), its Message-ID derived from the idempotency key."""

from __future__ import annotations

import asyncio
import email
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from alerts.delivery.templates import render


class Mailbox:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
async def smtp_server() -> AsyncIterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(mailbox, hostname="smtp.test", enable_SMTPUTF8=True),
                                      "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield mailbox, port
    finally:
        server.close()
        await server.wait_closed()


async def test_the_chinese_email_arrives_intact(smtp_server: tuple[Mailbox, int], delivery_service: Any,
                                                make_notification: Any, add_contact: Any) -> None:
    mailbox, port = smtp_server
    alerts = await delivery_service(smtp_port=port, smtp_from="瑞安市平安办 <pingan@ruian.example.cn>")
    async with alerts.db() as conn:
        await add_contact(conn, "person:张三", name="张三", email="zhangsan@tangxia.example.cn")
    request = make_notification("person:张三", ("email",), step_index=2, step_label="挂牌督办")
    await alerts.enqueue([request])
    await alerts.until(lambda: len(mailbox.envelopes) == 1, "the e-mail at the SMTP server")

    envelope = mailbox.envelopes[0]
    assert envelope.mail_from == "pingan@ruian.example.cn"
    assert envelope.rcpt_tos == ["zhangsan@tangxia.example.cn"]
    raw = envelope.original_content or envelope.content
    assert isinstance(raw, bytes)
    raw.decode("ascii")  # proper MIME: 7-bit headers and a transfer-encoded body on the wire
    message = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)

    async with alerts.db() as conn:
        row = await conn.fetchrow("SELECT * FROM deliveries")
        key = await conn.fetchval("SELECT idempotency_key FROM delivery_messages")
    expected = render("zh", "张三", [dict(row)], ZoneInfo("Asia/Shanghai"))
    assert message["Subject"] == expected.title == "【平安预警·升级】挂牌督办：塘下镇消防通道堵塞整改逾期"
    assert str(message["From"]) == "瑞安市平安办 <pingan@ruian.example.cn>"
    assert str(message["To"]) == "张三 <zhangsan@tangxia.example.cn>"
    assert message["Message-ID"] == f"<{key}@ruian.example.cn>"
    body = message.get_body(("plain",))
    assert body is not None and body.get_content_charset() == "utf-8"
    assert body.get_content().replace("\r\n", "\n") == expected.body  # SMTP lines end in CRLF
    assert "张三：" in expected.body and "当前环节：第 3 级 挂牌督办" in expected.body

    async def sent() -> bool:
        async with alerts.db() as conn:
            return await conn.fetchval("SELECT status FROM delivery_messages") == "sent"
    await alerts.until(sent, "the message recorded as sent")
    await alerts.quiet_for(0.3)
    assert len(mailbox.envelopes) == 1


async def test_english_contact_gets_the_english_template(smtp_server: tuple[Mailbox, int], delivery_service: Any,
                                                         make_notification: Any, add_contact: Any) -> None:
    mailbox, port = smtp_server
    alerts = await delivery_service(smtp_port=port)
    async with alerts.db() as conn:
        await add_contact(conn, "person:lin", name="Lin Wei", email="lin@example.org", locale="en")
    await alerts.enqueue([make_notification("person:lin", ("email",))])
    await alerts.until(lambda: len(mailbox.envelopes) == 1, "the e-mail")
    message = email.message_from_bytes(mailbox.envelopes[0].original_content or b"", policy=default_policy)
    assert message["Subject"] == "[Pingan alert · escalated] 通报: 塘下镇消防通道堵塞整改逾期"
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n").startswith("Lin Wei,\n\nYou have one alert notification:")


async def test_an_smtp_server_that_is_down_means_a_retry(delivery_service: Any, make_notification: Any,
                                                        add_contact: Any) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    alerts = await delivery_service(smtp_port=closed_port, delivery_backoff_base_seconds=60)
    async with alerts.db() as conn:
        await add_contact(conn, "person:张三", email="zhangsan@tangxia.example.cn")
    await alerts.enqueue([make_notification("person:张三", ("email",))])

    async def retry_scheduled() -> bool:
        async with alerts.db() as conn:
            row = await conn.fetchrow("SELECT status, attempts, next_attempt_at, last_error FROM delivery_messages")
            return row is not None and row["status"] == "pending" and row["attempts"] == 1
    await alerts.until(retry_scheduled, "the failed attempt recorded with a retry")
    async with alerts.db() as conn:
        row = await conn.fetchrow("SELECT next_attempt_at, last_error FROM delivery_messages")
    assert row["next_attempt_at"] == alerts.clock.now() + timedelta(seconds=60)
    assert row["last_error"].startswith("smtp ")
