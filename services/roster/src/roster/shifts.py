"""Reading the roster: shifts with their crews, by period, member, team and day (``roster.visibility`` decides what a
member sees), their area and team with the directory's names (``roster.places``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pingan_shared.refused import NotFound
from roster import places, visibility
from roster.context import RosterContext
from roster.store import shifts as store


async def list_shifts(
    ctx: RosterContext, *, period_id: str | None, member_id: str | None, team_id: str | None, day_from: date | None,
    day_to: date | None, published_only: bool, after: str | None, limit: int,
) -> list[dict[str, Any]]:
    async with ctx.runtime.connection() as conn:
        return await places.named(conn, await store.list_shifts(
            conn, period_id=period_id, member_id=member_id, team_id=team_id, day_from=day_from, day_to=day_to,
            published_only=published_only, after=after, limit=limit))


async def get_shift(ctx: RosterContext, shift_id: str, *, viewer: str | None) -> dict[str, Any]:
    """A shift with its crew (``member_ids``); for a member (``viewer``) only a shift it is on: any other is not
    found."""
    async with ctx.runtime.connection() as conn:
        row = await store.get_shift(conn, shift_id)
        members = (await store.assignees(conn, [shift_id]))[shift_id] if row is not None else []
        if row is None or not visibility.sees_crew(viewer, members):
            raise NotFound(visibility.NO_SUCH_SHIFT, "shift_id")
        [named] = await places.named(conn, [row])
    return named | {"member_ids": members}
