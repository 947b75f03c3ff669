"""When a session ends, and how its secrets are made.

The cookie carries a random id; the database keeps only its SHA-256 (``id_hash``), so whoever reads the table
cannot sign in with it. The CSRF token is derived from the id the same one-way, so it needs no column and changes
with every session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

SESSION_ID_BYTES = 32


def new_session_id() -> str:
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def id_hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode("utf-8")).digest()


def csrf_token(session_id: str) -> str:
    digest = hashlib.sha256(b"pingan-console csrf\x00" + session_id.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def csrf_matches(session_id: str, offered: str | None) -> bool:
    return offered is not None and hmac.compare_digest(csrf_token(session_id), offered)


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    absolute: timedelta

    def expires_at(self, created_at: datetime, last_seen_at: datetime) -> datetime:
        """The moment the session ends unless used again: idle time after its last use, never past the absolute
        limit after sign-in."""
        return min(last_seen_at + self.idle, created_at + self.absolute)

    def is_live(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        return now < self.expires_at(created_at, last_seen_at)
