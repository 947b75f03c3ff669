"""The organiser's roster work (平安办): organisations and members (import from CSV), programmes and periods (cohort,
duties), solving with live progress, the roster as a people × days grid and publishing it, swap requests, and the
attendance and fairness report with its chart. Everything is read from and written to the roster service over its
API, as the signed-in organiser (or admin): roster decides, these pages show its answers and its refusals.

Each page module has its own router; they are mounted in the order below (a fixed path such as
``/roster/members/import`` before the ``/roster/members/{member_id}`` it would otherwise match).
"""

from fastapi import APIRouter

from console.pages.roster import imports, members, organisations, period, periods, reports, solving, swaps
from console.pages.roster.common import ROLES
from console.web.menu import MenuItem

router = APIRouter(include_in_schema=False)
for module in (organisations, imports, members, periods, period, solving, swaps, reports):
    router.include_router(module.router)

MENU = [
    MenuItem("/roster/members", "队员名册", "Members", section="roster", roles=ROLES, order=10,
             summary=("组织与队员，CSV 导入", "Organisations and members, CSV import")),
    MenuItem("/roster/organisations", "组织与队伍", "Organisations", section="roster", roles=ROLES, order=15),
    MenuItem("/roster/periods", "轮值期次", "Rotation periods", section="roster", roles=ROLES, order=20,
             summary=("期次、学员与勤务，求解并发布排班", "Periods, cohorts and duties; solve and publish")),
    MenuItem("/roster/swaps", "调班申请", "Swap requests", section="roster", roles=ROLES, order=30,
             summary=("审批队员的调班申请", "Approve or refuse members' swap requests")),
    MenuItem("/roster/reports", "出勤与公平", "Attendance and fairness", section="roster", roles=ROLES, order=40,
             summary=("出勤、缺勤与轮值公平的统计图表", "Attendance, no-shows and fairness, charted")),
]
