"""What a member (a volunteer's token) may see of the roster, one rule for every route (DESIGN.md §6): the shifts
it is on now, and the periods it serves in (in the cohort, or on one of the period's shifts). Anything else a member
names is answered exactly as an id that does not exist — the same status, words and field on every route — before
anything about it is judged (published or not, started or not, who is on it): otherwise a swap request or a
check-in would tell a member that another's shift exists and whether it has started, and a wish or a report that
another cohort's period exists. Organisers and admins see everything.

The use cases take the member to see as (``viewer``) and refuse with their own "not found" (a
``pingan_shared.refused.NotFound``) saying ``NO_SUCH_SHIFT`` / ``NO_SUCH_PERIOD``.
"""

from __future__ import annotations

from collections.abc import Collection

import asyncpg

from pingan_shared.auth import Principal, Role
from roster.store import periods as period_store
from roster.store import shifts as shift_store

NO_SUCH_SHIFT = "没有该班次 (no such shift)"
NO_SUCH_PERIOD = "没有该期 (no such period)"


def viewer(who: Principal) -> str | None:
    """The member whose view of the roster ``who`` has; None: an organiser's or admin's, everything."""
    return who.subject if who.role is Role.MEMBER else None


async def sees_shift(conn: asyncpg.Connection, shift_id: str, member_id: str | None) -> bool:
    """Whether the shift exists and, for a member, the member is on it now (for a caller that has not read the
    shift; one that has its crew asks ``sees_crew``)."""
    if member_id is None:
        return await shift_store.get_shift(conn, shift_id) is not None
    return await shift_store.on_crew(conn, shift_id, member_id)


def sees_crew(member_id: str | None, crew: Collection[str]) -> bool:
    """Whether a shift with this crew is seen: by everyone but a member, and by a member on it."""
    return member_id is None or member_id in crew


async def serves_in(conn: asyncpg.Connection, period_id: str, member_id: str | None) -> bool:
    """Whether an existing period is seen: by everyone but a member, and by a member in its cohort or on one of its
    shifts (the caller has read the period already)."""
    return member_id is None or await period_store.serves_in(conn, period_id, member_id)
