"""Rules of notification delivery, no I/O: retry backoff, what a rate limit still allows, which notifications
go together in one message, whether a dead letter can be re-sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TypeVar

from alerts.domain.contacts import Contact

T = TypeVar("T")


def retry_delay(attempts: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """The wait before the next attempt after ``attempts`` failed ones: base, 2×base, 4×base … capped."""
    if attempts < 1:
        return timedelta(0)
    exponent = min(attempts - 1, 32)  # 2**32 × any base is past every sensible cap
    return timedelta(seconds=min(base_seconds * (2 ** exponent), max_seconds))


def may_retry(attempts: int, max_attempts: int) -> bool:
    return attempts < max_attempts


def rate_budget(limit_per_minute: int, started_last_minute: int) -> int | None:
    """How many more messages a channel may start now: None when unlimited (limit 0)."""
    if limit_per_minute <= 0:
        return None
    return max(limit_per_minute - started_last_minute, 0)


def bundles(items: Sequence[T], most: int) -> list[list[T]]:
    """Consecutive groups of at most ``most`` (one recipient's notifications on one channel, oldest first)."""
    if most < 1:
        raise ValueError("most must be at least 1")
    return [list(items[i:i + most]) for i in range(0, len(items), most)]


def resend_refusal(contact: Contact | None, channel: str) -> str | None:
    """Why a dead letter to ``contact`` (None: since removed) cannot be re-sent on ``channel``, or None when it can.
    A message holds no address of its own: it goes where its recipient's contact says today, so a removed contact,
    or one that no longer has the channel, is refused rather than sent somewhere stale."""
    if contact is None:
        return "收件联系人已删除，请先恢复联系人 (the recipient's contact was removed; put it back first)"
    if not contact.provides(channel):
        return f"收件联系人已没有该渠道 (the recipient's contact no longer provides {channel})"
    return None
