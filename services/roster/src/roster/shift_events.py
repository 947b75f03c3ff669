"""The roster.shifts events of a shift's state (whole state, key = shift id), built from its row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pingan_shared.events.catalog import SHIFT_ASSIGNED, SHIFT_CANCELLED, SHIFT_CHANGED
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.roster_contracts import DutyKind, ShiftAssignedV1, ShiftCancelledV1, ShiftChangedV1
from roster.context import RosterContext


def _state(shift: Any, members: list[str], ctx: RosterContext) -> dict[str, Any]:
    return {"shift_id": shift["shift_id"], "period_id": shift["period_id"], "duty": DutyKind(shift["kind"]),
            "title": shift["title"], "area": shift["area"], "route_id": shift["route_id"],
            "team_id": shift["team_id"], "member_ids": sorted(members), "starts_at": shift["starts_at"],
            "ends_at": shift["ends_at"], "timezone": str(ctx.zone)}


def assigned(ctx: RosterContext, shift: Any, members: list[str], version: int) -> tuple[str, Envelope]:
    return ctx.events.make(SHIFT_ASSIGNED, ShiftAssignedV1(**_state(shift, members, ctx), roster_version=version),
                           key=shift["shift_id"])


def changed(ctx: RosterContext, shift: Any, members: list[str], version: int, reason: str) -> tuple[str, Envelope]:
    return ctx.events.make(SHIFT_CHANGED, ShiftChangedV1(**_state(shift, members, ctx), roster_version=version,
                                                         reason=reason[:500]), key=shift["shift_id"])


def cancelled(ctx: RosterContext, shift: Any, reason: str, at: datetime) -> tuple[str, Envelope]:
    return ctx.events.make(SHIFT_CANCELLED, ShiftCancelledV1(shift_id=shift["shift_id"],
                                                             period_id=shift["period_id"], reason=reason[:500],
                                                             cancelled_at=at), key=shift["shift_id"])
