"""roster's durable timer handlers, each bound to the context in ``handlers()``. Every handler is idempotent: it
re-reads its rows and acts only if the state still calls for it (a timer may fire late, after a restart, or find
its work already done).

- ``roster.presence-check`` (key: shift and member, armed by ``presence.schedule_checks`` when a shift is
  published or its crew changes): at the shift's start + grace, a member with no presence is a no-show, once
  (``noshows.on_presence_check``).
- ``roster.handoff`` (key: shift id, armed by ``handoff.arm``): before a published shift starts, a handoff notice
  for each member on it and the alert signal addressed to them (``handoff.remind``).
- ``roster.handoff-over`` (key: shift id, armed when that signal goes out): at the shift's start, the signal's
  resolve (``handoff.over``).
- ``roster.not-planned-check`` (key: shift id, armed when patrol refuses the shift): at its start, a refusal still
  standing alerts the organiser (``patrol_answers.on_not_planned_check``).
"""

from __future__ import annotations

import asyncpg

from pingan_shared.timers import Timer, TimerHandler
from roster import handoff, noshows, patrol_answers
from roster.context import RosterContext


def handlers(ctx: RosterContext) -> dict[str, TimerHandler]:
    async def presence_check(conn: asyncpg.Connection, timer: Timer) -> None:
        await noshows.on_presence_check(ctx, conn, timer)

    async def handoff_reminder(conn: asyncpg.Connection, timer: Timer) -> None:
        await handoff.remind(conn, ctx, timer.key)

    async def handoff_over(conn: asyncpg.Connection, timer: Timer) -> None:
        await handoff.over(conn, ctx, timer.key)

    async def not_planned_check(conn: asyncpg.Connection, timer: Timer) -> None:
        await patrol_answers.on_not_planned_check(ctx, conn, timer)

    return {noshows.PRESENCE_CHECK: presence_check, handoff.HANDOFF: handoff_reminder,
            handoff.HANDOFF_OVER: handoff_over, patrol_answers.NOT_PLANNED_CHECK: not_planned_check}
