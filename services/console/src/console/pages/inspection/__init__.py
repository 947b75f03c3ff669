"""The 211 cycle (211 暗访督查) in the console: inspectors and supervision-group members record findings in the
covert phase; after the release, units rectify their tasks and inspectors revisit them; notices, listing for
supervision and scorecards. Every read and change goes to the inspection service as the signed-in person, which
decides what each may see (a unit never a finding, nor who inspected it).

One module per page group: ``cycles``, ``findings``, ``tasks`` (+ ``task_steps``), ``notices``, ``scorecards``;
``photos`` serves evidence photos to those who may read what names them; ``uploads`` takes photos in with a form;
``labels`` and ``timing`` are the words and the days left.
"""

from fastapi import APIRouter

from console.pages.inspection import cycles, findings, notices, photos, scorecards, task_steps, tasks
from console.pages.inspection.common import ASSESSORS, READERS, RECORDERS
from console.web.menu import MenuItem

router = APIRouter(include_in_schema=False)
for _module in (cycles, findings, tasks, task_steps, notices, scorecards, photos):
    router.include_router(_module.router)

MENU = [
    MenuItem("/inspection/cycles", "暗访周期", "Inspection cycles", section="inspection", roles=ASSESSORS, order=10,
             summary=("各期暗访的阶段与剩余天数", "Each cycle's phase and the days left in it")),
    MenuItem("/inspection/findings/new", "记录发现", "Record a finding", section="inspection", roles=RECORDERS,
             order=20, summary=("暗访阶段记录问题并上传照片",
                                "Record what you found, with photos, in the covert phase")),
    MenuItem("/inspection/findings", "暗访发现", "Findings", section="inspection", roles=RECORDERS, order=30),
    MenuItem("/inspection/tasks", "整改任务", "Rectification tasks", section="inspection", roles=READERS, order=40,
             summary=("整改期限、提交整改、回访与全程留痕",
                      "Deadlines, rectifications, revisits and each task's timeline")),
    MenuItem("/inspection/notices", "通报", "Notices", section="inspection", roles=READERS, order=50),
    MenuItem("/inspection/scorecards", "考核排名", "Scorecards", section="inspection", roles=ASSESSORS, order=60,
             summary=("各单位整改考核排名与导出", "Units ranked by rectification, charted and exported")),
]
