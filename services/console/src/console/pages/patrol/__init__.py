"""The organiser's patrol pages (and a supervisor's reading of them): checkpoints on a map, routes, plans,
tonight's rounds live, a round's scans, compliance, suspicious scans and hazards — all over patrol's HTTP API as
the signed-in person. One module per page group; ``rules`` holds what they compute without I/O."""

from __future__ import annotations

from fastapi import APIRouter

from console.pages.patrol import checkpoints, oversight, plans, rounds, routes
from console.pages.patrol.common import EDITORS, READERS
from console.web.menu import MenuItem

router = APIRouter(include_in_schema=False)
for _part in (rounds, checkpoints, routes, plans, oversight):
    router.include_router(_part.router)

MENU = [
    MenuItem("/patrol/rounds", "今晚巡逻", "Tonight's rounds", section="patrol", roles=READERS, order=10,
             summary=("各路线本轮状态：已完成、巡逻中、超时、漏巡",
                      "Each route's round: done, in progress, late, missed")),
    MenuItem("/patrol/checkpoints", "巡逻点位", "Checkpoints", section="patrol", roles=EDITORS, order=20,
             summary=("地图上的点位，新建点位", "Checkpoints on the map; add one")),
    MenuItem("/patrol/routes", "巡逻路线", "Routes", section="patrol", roles=EDITORS, order=30),
    MenuItem("/patrol/plans", "巡逻计划", "Plans", section="patrol", roles=EDITORS, order=40),
    MenuItem("/patrol/compliance", "巡逻合规", "Compliance", section="patrol", roles=READERS, order=50),
    MenuItem("/patrol/flags", "可疑扫码", "Suspicious scans", section="patrol", roles=READERS, order=60),
    MenuItem("/patrol/hazards", "巡逻隐患", "Hazards on patrol", section="patrol", roles=READERS, order=70),
]
