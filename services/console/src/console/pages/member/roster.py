"""roster's API as the signed-in member sees it (their token's subject is their member id, so roster answers with
their own shifts, requests and notices only). Refusals come back as ``ServiceRefused`` with roster's fields; the
pages place them by their form fields.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from console.services import ServiceCaller

ROSTER = "roster"
MAX_ROWS = 5000  # a member's shifts or notices over years are hundreds; past this the list stops (and says so)


def _segment(value: str) -> str:
    return quote(value, safe="")


async def _all(caller: ServiceCaller, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Every item of one of roster's paged lists, up to ``MAX_ROWS``."""
    return await caller.walk(ROSTER, path, params, most=MAX_ROWS)


async def my_shifts(caller: ServiceCaller, *, day_from: date | None, day_to: date | None) -> list[dict[str, Any]]:
    """The published shifts the member is on, between the local days given (either may be open)."""
    params = {k: v.isoformat() for k, v in (("day_from", day_from), ("day_to", day_to)) if v is not None}
    return await _all(caller, "/v1/shifts", params)


async def shift(caller: ServiceCaller, shift_id: str) -> dict[str, Any]:
    """One shift the member is on (any other: roster's 404, as for an id never used)."""
    found: dict[str, Any] = await caller.get(ROSTER, f"/v1/shifts/{_segment(shift_id)}")
    return found


async def presence(caller: ServiceCaller, shift_id: str) -> list[dict[str, Any]]:
    """Everyone on the shift with their presence: checked in or scanned (when), no-show, or not yet."""
    answer = await caller.get(ROSTER, f"/v1/shifts/{_segment(shift_id)}/presence")
    members: list[dict[str, Any]] = answer.get("members") or []
    return members


async def check_in(caller: ServiceCaller, shift_id: str) -> dict[str, Any]:
    """签到 now; roster judges the window (409 outside it) and keeps the first time (``first_check_in`` false)."""
    answer: dict[str, Any] = await caller.post(ROSTER, f"/v1/shifts/{_segment(shift_id)}/check-ins", json={})
    return answer


async def notices(caller: ServiceCaller) -> list[dict[str, Any]]:
    """The member's handoff reminders, oldest first (roster pages them by id)."""
    return await _all(caller, "/v1/me/notices", {})


async def swap_requests(caller: ServiceCaller, params: dict[str, str]) -> dict[str, Any]:
    """One page of the requests the member made or is named in (``status``, ``limit``, ``after``)."""
    page: dict[str, Any] = await caller.get(ROSTER, "/v1/swap-requests", params=params)
    return page


async def request_swap(caller: ServiceCaller, shift_id: str, *, to_member_id: str | None,
                       note: str) -> dict[str, Any]:
    answer: dict[str, Any] = await caller.post(ROSTER, f"/v1/shifts/{_segment(shift_id)}/swap-requests",
                                               json={"to_member_id": to_member_id, "note": note})
    return answer


async def withdraw_swap(caller: ServiceCaller, request_id: str) -> None:
    await caller.post(ROSTER, f"/v1/swap-requests/{_segment(request_id)}/withdrawal")


async def issue_feed(caller: ServiceCaller, member_id: str) -> dict[str, Any]:
    """A new calendar feed for the member (the previous one stops working): its token, shown once."""
    answer: dict[str, Any] = await caller.post(ROSTER, f"/v1/calendar/members/{_segment(member_id)}/feed")
    return answer


async def revoke_feed(caller: ServiceCaller, member_id: str) -> None:
    """The feed stops working (roster's 404 when there is none)."""
    await caller.delete(ROSTER, f"/v1/calendar/members/{_segment(member_id)}/feed")
