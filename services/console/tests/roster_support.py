"""What the organiser's roster page tests share: roster in-process (its directory the test city's) for the console to
call over an ASGI transport, and a small rotation period that solves in a moment — six members of a village patrol
team (one police officer among them), one night patrol a day for a week.
"""

from __future__ import annotations

from datetime import date

from pingan_shared.service import Service
from pingan_stack.service_harness import ServiceHarness
from roster.bootstrap import bootstrap
from roster.context import RosterContext
from roster.settings import RosterSettings

TEAM = "塘下一队"  # a patrol team of the test city's directory (韩田村巡逻一队)
TANGXIA = "330381102000"  # 塘下镇
START = date(2026, 12, 7)  # a Monday
# Six members and a bad row (an unknown role): the import answers each row on its own.
MEMBERS_CSV = (
    "member_id,name,org_id,role,skills,phone,email,team_id,app_member_id\n"
    f"TX01,张警官,PS-TX,police,,13800000001,,{TEAM},\n"
    f"TX02,李巡逻,{TEAM},patrol-member,急救,13800000002,,{TEAM},\n"
    f"TX03,王巡逻,{TEAM},patrol-member,,13800000003,,{TEAM},\n"
    f"TX04,赵警官,PS-TX,police,,13800000004,,{TEAM},\n"
    f"TX05,钱巡逻,{TEAM},patrol-member,,13800000005,,{TEAM},\n"
    f"TX06,孙警官,PS-TX,police,,13800000006,,{TEAM},\n"
    f"TX07,周某,{TEAM},chief,,,,{TEAM},\n"
).encode()
COHORT = ("TX01", "TX02", "TX03", "TX04", "TX05", "TX06")


class RosterService(ServiceHarness[RosterContext]):
    """roster in-process on a fresh database holding the test city's directory."""

    state_attribute = "roster"
    with_directory = True

    def build(self) -> Service:
        return bootstrap(platform=self.platform, settings=RosterSettings(database_url=self.database_url,
                                                                         **self.settings), clock=self.clock)
