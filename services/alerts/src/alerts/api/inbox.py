"""/v1/inbox: the caller's own inbox (the token's subject); nobody reads another person's inbox, admins
included: an inbox message outside one's own answers exactly as one that does not exist."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from alerts.context import Context
from alerts.delivery import inbox
from pingan_shared.auth import Principal, Role
from pingan_shared.http.security import require_roles

router = APIRouter(prefix="/v1", tags=["inbox"])
# Organisers are targets of the built-in patrol and roster ladders (role:patrol-organiser…), and members of roster's
# handoff reminders (person:<member id>, addressed by the signal's people): they read their inbox like anyone
# notified. Still one's own only: the inbox is keyed by the token's subject.
Owner = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.UNIT, Role.ORGANISER, Role.MEMBER,
                                                   Role.ADMIN))]
MessageId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/inbox")
async def read_inbox(
    ctx: Context, principal: Owner,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> dict[str, Any]:
    """The caller's messages, newest first (``unread=true``: unread only), and how many are unread."""
    return await inbox.page(ctx, principal.subject, unread_only=unread, limit=limit, before=before)


@router.post("/inbox/{message_id}/read")
async def mark_read(message_id: MessageId, ctx: Context, principal: Owner) -> dict[str, Any]:
    return await inbox.mark(ctx, principal.subject, message_id, read=True)


@router.post("/inbox/{message_id}/unread")
async def mark_unread(message_id: MessageId, ctx: Context, principal: Owner) -> dict[str, Any]:
    return await inbox.mark(ctx, principal.subject, message_id, read=False)
