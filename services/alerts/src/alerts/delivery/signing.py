"""Webhook signatures: HMAC-SHA256 over ``<timestamp>.<body>``, one per valid secret.

During a secret rotation a contact has two valid secrets; the request carries a signature for each, so the
receiver may check with either its old or its new secret and the rotation needs no moment of coordination.
The timestamp is signed with the body so that a captured request cannot be replayed later than the receiver's
tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

TIMESTAMP_HEADER = "X-Pingan-Timestamp"
SIGNATURE_HEADER = "X-Pingan-Signature"  # "v1=<hex>, v1=<hex>" — one per valid secret
IDEMPOTENCY_HEADER = "Idempotency-Key"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signed_headers(secrets: Sequence[str], timestamp: int, body: bytes, idempotency_key: str) -> dict[str, str]:
    if not secrets:
        raise ValueError("a webhook needs at least one secret")
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: ", ".join(f"v1={signature(secret, timestamp, body)}" for secret in secrets),
        IDEMPOTENCY_HEADER: idempotency_key,
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: int, tolerance_seconds: int = 300) -> bool:
    """What a receiver does: the timestamp is recent and one of the signatures is ours."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lowered[TIMESTAMP_HEADER.lower()])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = signature(secret, timestamp, body)
    offered = [part.strip().removeprefix("v1=") for part in lowered.get(SIGNATURE_HEADER.lower(), "").split(",")]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)
