"""/v1/deliveries/dead-letters: notifications that failed every attempt — listed, and re-sent one by one or all
that a filter matches (after a receiver's outage). Admins only, as the contacts directory is: a dead letter shows a
recipient's contact and channel, and a re-send acts for every alert its message carries, whatever their scope. A
supervisor sees a failed delivery of its own alerts on the alert's timeline (``delivery-failed``,
``delivery-resent``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from alerts.api.common import by
from alerts.context import Context
from alerts.delivery import dead_letters
from alerts.delivery.dead_letters import Filter
from pingan_shared.auth import Principal, Role
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.paging import Limit, Page
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["deliveries"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
DeadLetterId = Annotated[int, Path(ge=1, le=2**62)]
IdAfter = Annotated[int | None, Query(ge=0, le=2**62, description="next_after of the previous page")]
Channel = Literal["webhook", "email", "inbox", "stream"]
Recipient = Annotated[StorableStr, Field(min_length=1, max_length=205, description=(
    "the contact it was sent to: person:<name>, unit:<id> (or the unit's name)"))]
AlertId = Annotated[StorableStr, Field(min_length=1, max_length=64)]


class ResendFilterIn(BaseModel):
    """Which open dead letters to re-send; an empty filter re-sends every open one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Channel | None = None
    recipient: Recipient | None = None
    alert_id: AlertId | None = None

    def as_filter(self) -> Filter:
        return Filter(open=True, channel=self.channel, recipient=self.recipient, alert_id=self.alert_id)


_STATUS = {"open": True, "resent": False, "all": None}


@router.get("/deliveries/dead-letters")
async def list_dead_letters(
    ctx: Context, _: Admin,
    status: Literal["open", "resent", "all"] = "open",
    channel: Channel | None = None,
    recipient: Annotated[StorableStr | None, Query(min_length=1, max_length=205)] = None,
    alert_id: Annotated[StorableStr | None, Query(min_length=1, max_length=64)] = None,
    limit: Limit = 100,
    after: IdAfter = None,
) -> Page[dict[str, Any]]:
    """Dead letters in the order they failed (by default the open ones, not re-sent): recipient, channel,
    attempts, the last reason, when, and the notifications the message carried (alert, kind, dedup key, event,
    step and label, target)."""
    which = Filter(open=_STATUS[status], channel=channel, recipient=recipient, alert_id=alert_id)
    return await dead_letters.page(ctx, which, limit=limit, after=after)


@router.post("/deliveries/dead-letters/resend")
async def resend_matching(body: ResendFilterIn, ctx: Context, principal: Admin) -> dict[str, Any]:
    """重发: every open dead letter the filter matches goes back to pending with a fresh attempt budget and its
    same idempotency key. Answers how many were re-sent, their ids, and those skipped with the reason (a
    recipient's contact since removed)."""
    return await dead_letters.resend_matching(ctx, body.as_filter(), by=by(principal))


@router.post("/deliveries/dead-letters/{dead_letter_id}/resend", responses=error_responses(409))
async def resend(dead_letter_id: DeadLetterId, ctx: Context, principal: Admin) -> dict[str, Any]:
    """重发: the message goes back to pending with a fresh attempt budget and its same idempotency key (receivers
    drop repeats); the dead letter is marked re-sent. One already re-sent answers the same and changes nothing.
    409 when its recipient's contact was removed (or no longer has the channel): put it back, then re-send."""
    return await dead_letters.resend(ctx, dead_letter_id, by=by(principal))
