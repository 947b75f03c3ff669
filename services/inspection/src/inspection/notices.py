"""Reading circulated notices (通报), each with its tasks in brief, within the reader's reach (``inspection.reach``).

Notices are issued at a release (``inspection.release``) or with a task opened outside one (``inspection.opening``)
and closed when their last task is verified (``inspection.rectification``); nothing here changes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inspection import reach
from inspection.context import InspectionContext
from inspection.store import notices as store
from inspection.store import tasks as task_store
from inspection.store.notices import NoticeRow
from pingan_shared.auth import Principal
from pingan_shared.http.paging import Page, page_of
from pingan_shared.refused import NotFound

NOT_FOUND = "通报不存在 (no such notice)"


@dataclass(frozen=True)
class NoticeView:
    notice: NoticeRow
    tasks: list[dict[str, Any]]  # each task briefly, in the order it joined the notice


async def list_notices(ctx: InspectionContext, principal: Principal, *, status: str | None, year: int | None,
                       unit_id: str | None, limit: int, after: str | None) -> Page[NoticeView]:
    """Notices in id order; another unit's id as a filter: an empty page for a unit, a 403 for a scoped supervisor."""
    async with ctx.runtime.connection() as conn:
        units = reach.listing(await reach.reach_of(conn, principal), principal, unit_id)
        rows = await store.page(conn, units=units, status=status, year=year, limit=limit, after=after)
        tasks = await task_store.summaries_of_notices(conn, [r.id for r in rows])
    return page_of([NoticeView(r, tasks[r.id]) for r in rows], limit, lambda v: v.notice.id)


async def get_notice(ctx: InspectionContext, principal: Principal, notice_id: str) -> NoticeView:
    """The notice, if it stands against a unit within the reader's reach; any other is the same 404."""
    async with ctx.runtime.connection() as conn:
        row = await store.get(conn, notice_id)
        if row is None or not (await reach.reach_of(conn, principal)).covers(row.unit_id):
            raise NotFound(NOT_FOUND, field="notice_id")
        tasks = await task_store.summaries_of_notices(conn, [notice_id])
    return NoticeView(row, tasks[notice_id])
