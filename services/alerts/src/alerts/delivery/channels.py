"""The channels that leave the service: signed webhooks (aiohttp) and e-mail over SMTP (aiosmtplib).

A send either returns (the receiver took it) or raises ``SendFailed`` with a reason for the timeline; the
worker decides about retries. Both carry the message's idempotency key, the same on every attempt, so a
receiver that got an attempt whose answer was lost can drop the repeat.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import aiohttp
import aiosmtplib

from alerts.delivery.signing import signed_headers
from alerts.delivery.templates import Rendered
from alerts.domain.contacts import Contact
from alerts.settings import AlertsSettings


class SendFailed(Exception):
    """The channel did not take the message; ``reason`` goes to the timeline and the dead letter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def webhook_body(idempotency_key: str, recipient: Contact, rendered: Rendered,
                 notifications: Sequence[Mapping[str, Any]]) -> bytes:
    """The same bytes on every attempt (no send time inside: that is the signed timestamp header's)."""
    document = {
        "idempotency_key": idempotency_key,
        "recipient": recipient.target,
        "title": rendered.title,
        "text": rendered.body,
        "notifications": list(notifications),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


class WebhookChannel:
    """aiohttp's client: a burst of thousands of webhooks spent most of the worker's CPU in httpx's (2.7 ms a send
    against well under 1 ms; bench/alerts_latency.py)."""

    def __init__(self, settings: AlertsSettings) -> None:
        self._timeout = aiohttp.ClientTimeout(total=settings.delivery_webhook_timeout_seconds)
        self._session: aiohttp.ClientSession | None = None  # made on first use, inside the service's event loop

    async def send(self, recipient: Contact, idempotency_key: str, body: bytes) -> None:
        if recipient.webhook_url is None or not recipient.webhook_secrets:
            raise SendFailed("联系人没有可用的 webhook 地址或密钥 (no webhook URL or secret)")
        # Wall time, not the service clock: the receiver judges freshness by its own real clock.
        headers = signed_headers(recipient.webhook_secrets, int(time.time()), body, idempotency_key)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(recipient.webhook_url, data=body, headers=headers,
                                          allow_redirects=False) as response:
                if 200 <= response.status < 300:
                    return
                text = await response.text(errors="replace")
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            # ValueError: a URL aiohttp cannot use (the contact's validation lets only http(s) URLs in)
            raise SendFailed(f"webhook {type(exc).__name__}: {exc}"[:500]) from exc
        raise SendFailed(f"webhook answered HTTP {response.status}: {text[:200]}")

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def email_message(settings: AlertsSettings, recipient: Contact, idempotency_key: str, rendered: Rendered,
                  sent_at: Any) -> EmailMessage:
    """A proper MIME message (UTF-8, encoded-word subject), its Message-ID derived from the idempotency key so
    that a repeated attempt is recognisably the same message."""
    assert recipient.email is not None
    message = EmailMessage()
    message["Subject"] = rendered.title
    message["From"] = settings.smtp_from
    name, addr = parseaddr(recipient.email)
    message["To"] = Address(display_name=name or recipient.display_name, addr_spec=addr or recipient.email)
    message["Date"] = format_datetime(sent_at)
    domain = (parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "pingan-alerts.local")
    message["Message-ID"] = f"<{idempotency_key}@{domain}>"
    message["X-Pingan-Idempotency-Key"] = idempotency_key
    message.set_content(rendered.body, charset="utf-8")
    return message


class EmailChannel:
    def __init__(self, settings: AlertsSettings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        settings = self._settings
        try:
            await aiosmtplib.send(
                message, hostname=settings.smtp_host, port=settings.smtp_port,
                username=settings.smtp_username,
                password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                start_tls=settings.smtp_starttls, timeout=settings.smtp_timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise SendFailed(f"smtp {type(exc).__name__}: {exc}"[:500]) from exc
