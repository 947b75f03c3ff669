"""The supervisors' webhook endpoint: a small HTTP server the simulator runs itself (a thread), which checks each
request's signature with the secret the simulator gave the contact and records what arrived.

A delivery is at least once: a sender killed after the POST landed but before it marked it sent posts it again,
with the same ``Idempotency-Key`` — a receiver keeps the first and counts the repeat (``redelivered``), which is
no doubled effect. Two different keys for one notification would be."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = "pingan-simulate-webhook-secret-0001"


@dataclass
class Received:
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key → body
    redelivered: int = 0
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def notifications(self) -> list[dict[str, Any]]:
        """Every notification received once per key: the key, the recipient and the notification."""
        with self.lock:
            return [{"idempotency_key": key, "recipient": body.get("recipient"), **n}
                    for key, body in self.by_key.items() for n in body.get("notifications", [])]


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """As any outside receiver checks the alerts service's webhooks (services/alerts README): HMAC-SHA256 of
    ``<X-Pingan-Timestamp>.<body>``, one ``v1=`` signature per valid secret, the timestamp recent."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lowered["x-pingan-timestamp"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    offered = [p.strip().removeprefix("v1=") for p in lowered.get("x-pingan-signature", "").split(",")]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


class WebhookReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, secret: str = SECRET) -> None:
        self.received = Received()
        received, the_secret = self.received, secret

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if not verify(the_secret, dict(self.headers.items()), body, now=int(time.time())):
                    with received.lock:
                        received.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                key = self.headers.get("Idempotency-Key", "")
                with received.lock:
                    if key in received.by_key:
                        received.redelivered += 1
                    else:
                        received.by_key[key] = json.loads(body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
