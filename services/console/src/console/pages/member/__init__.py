"""The volunteer member's pages, made for a phone (390 px wide, touch targets of 44 px, no sideways scrolling) and
fine on a desktop: my shifts and a shift's page with check-in (``shifts``), swap requests (``swaps``), the calendar
subscription (``calendar``), handoff reminders (``notices``). Everything is read and changed through roster's API
as the member (``roster``); what the pages show is worked out in ``view`` (pure).
"""

from __future__ import annotations

from fastapi import APIRouter

from console.pages.member import calendar, notices, shifts, swaps, texts
from console.web.menu import MenuItem
from pingan_shared.auth import Role

__all__ = ["MENU", "router", "texts"]

router = APIRouter(include_in_schema=False)
for part in (shifts, swaps, calendar, notices):
    router.include_router(part.router)

_MEMBER = frozenset({Role.MEMBER})
MENU = [
    MenuItem("/me/shifts", "我的班次", "My shifts", section="member", roles=_MEMBER, order=10,
             summary=("即将开始的班次、签到与同班到岗", "Upcoming shifts, check-in and who is there")),
    MenuItem("/me/notices", "交接提醒", "Handoff reminders", section="member", roles=_MEMBER, order=20,
             summary=("班次开始前的交接班提醒", "Reminders before each shift")),
    MenuItem("/me/swaps", "调班申请", "Swap requests", section="member", roles=_MEMBER, order=30,
             summary=("申请把班次调给同事", "Ask to hand a shift to a colleague")),
    MenuItem("/me/calendar", "日历订阅", "Calendar", section="member", roles=_MEMBER, order=40,
             summary=("在手机日历中订阅我的班次", "Your shifts in your phone's calendar")),
]
