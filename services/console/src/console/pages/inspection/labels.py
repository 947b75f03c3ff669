"""The words of the 211 pages: the catalog entries (``inspection.*``) and the names of the inspection service's
values (phases, task states, categories, severities, timeline steps), Chinese first. The service answers codes
(``covert``, ``submitted``, ``fire``); a person reads these. No I/O."""

from __future__ import annotations

from collections.abc import Mapping

from console.domain.accounts import ROLE_LABELS
from console.web.i18n import messages, pick
from pingan_shared.auth import Role

Pair = tuple[str, str]

PHASES: Mapping[str, Pair] = {
    "covert": ("暗访阶段", "covert phase"),
    "rectification": ("整改阶段", "rectification phase"),
    "closed": ("已结束", "closed"),
}
STATUSES: Mapping[str, Pair] = {
    "triage": ("待分流", "triage"),
    "open": ("待整改", "open"),
    "submitted": ("待回访", "awaiting revisit"),
    "verified": ("已销号", "verified"),
    "merged": ("已合并", "merged"),
}
NOTICE_STATUSES: Mapping[str, Pair] = {"open": ("整改中", "open"), "closed": ("已办结", "closed")}
# the service's categories (inspection.domain.findings.Category), in its order
CATEGORIES: Mapping[str, Pair] = {
    "fire": ("消防安全", "fire safety"),
    "gas": ("燃气安全", "gas safety"),
    "roads": ("道路交通", "road traffic"),
    "construction": ("建筑工地", "construction sites"),
    "campus": ("校园安全", "campus safety"),
    "enterprise": ("企业安全生产", "workplace safety"),
    "public-order": ("社会治安", "public order"),
    "other": ("其他", "other"),
}
SEVERITIES: Mapping[str, Pair] = {
    "low": ("一般", "low"), "medium": ("较重", "medium"), "high": ("严重", "high"), "critical": ("重大", "critical"),
}
ORIGINS: Mapping[str, Pair] = {"finding": ("暗访发现", "covert finding"), "hazard": ("巡逻上报", "patrol report")}
DAY_BASES: Mapping[str, Pair] = {"calendar": ("自然日", "calendar days"), "working": ("工作日", "working days")}
# what each timeline step is called (全程留痕)
ACTIONS: Mapping[str, Pair] = {
    "recorded": ("暗访发现问题", "finding recorded"),
    "released": ("下发整改", "released to the unit"),
    "merged": ("合并同一隐患", "merged (same hazard)"),
    "opened": ("建立任务", "task opened"),
    "hazard-reported": ("巡逻上报隐患", "hazard reported by patrol"),
    "assigned": ("分流交办", "assigned to a unit"),
    "merged-into": ("并入已有任务", "merged into an open task"),
    "rectification-submitted": ("提交整改", "rectification submitted"),
    "revisit-rejected": ("回访未通过", "revisit: not yet rectified"),
    "revisit-verified": ("回访通过，销号", "revisit: verified"),
    "notice-closed": ("通报办结", "notice closed"),
    "listed": ("挂牌督办", "listed for supervision"),
    "reminded": ("催办提醒", "reminder"),
    "overdue": ("逾期", "overdue"),
    "deadline-recounted": ("期限重算", "deadline recounted"),
    "accountability": ("责任追究", "accountability step"),
    "alert-raised": ("预警发起", "alert raised"),
    "alert-acknowledged": ("预警已确认", "alert acknowledged"),
    "alert-escalated": ("预警升级", "alert escalated"),
    "alert-resolved": ("预警解除", "alert resolved"),
}
ACTORS: Mapping[str, Pair] = {
    "system": ("系统", "system"), "alerts": ("预警服务", "alerts service"),
    **{role.value: pair for role, pair in ROLE_LABELS.items()},
    Role.PATROL_DEVICE.value: ("巡逻终端", "patrol device"),
}


def named(names: Mapping[str, Pair], code: str | None, lang: str) -> str:
    """``code``'s name in ``lang``; an unknown code as it is (a newer service's value still shows)."""
    if code is None:
        return ""
    pair = names.get(code)
    return pick(lang, *pair) if pair else code


def choices(names: Mapping[str, Pair]) -> list[tuple[str, str, str]]:
    """(value, zh, en) for a select or a table filter."""
    return [(code, zh, en) for code, (zh, en) in names.items()]


def actor_text(actor: str, lang: str) -> str:
    """``inspector:王五`` → 暗访督查员 王五; a unit is shown roles only by the service (``inspector``)."""
    role, _, subject = actor.partition(":")
    name = named(ACTORS, role, lang)
    return f"{name} {subject}" if subject else name


messages({
    "inspection.cycles": ("暗访周期", "Inspection cycles"),
    "inspection.open_cycle": ("开启新一期", "Open a cycle"),
    "inspection.cycle_name": ("周期名称", "Name"),
    "inspection.cycle_id": ("周期编号", "Cycle id"),
    "inspection.covert_days": ("暗访天数", "Covert days"),
    "inspection.rectification_days": ("整改天数", "Rectification days"),
    "inspection.day_basis": ("整改期限计算", "Deadlines count"),
    "inspection.auto_next": ("结束后自动开启下一期（相同范围）",
                             "Open the next cycle (same scope) when this one closes"),
    "inspection.assign": ("分流交办", "Assign to a unit"),
    "inspection.assigned": ("已交办。", "Assigned."),
    "inspection.cycle": ("周期", "Cycle"),
    "inspection.phase": ("阶段", "Phase"),
    "inspection.days_left": ("剩余天数", "Days left"),
    "inspection.days_left_n": ("剩 {n} 天", "{n} days left"),
    "inspection.due_today": ("今天到期", "due today"),
    "inspection.overdue_n": ("已逾期 {n} 天", "{n} days overdue"),
    "inspection.overdue": ("已逾期", "overdue"),
    "inspection.covert_until": ("暗访截止", "Covert phase ends"),
    "inspection.closes": ("整改截止", "Rectification ends"),
    "inspection.starts": ("开始日期", "Starts"),
    "inspection.units": ("责任单位", "Units"),
    "inspection.unit": ("责任单位", "Unit"),
    "inspection.findings": ("暗访发现", "Findings"),
    "inspection.my_findings": ("我的发现", "My findings"),
    "inspection.record": ("记录发现", "Record a finding"),
    "inspection.recorded": ("发现已记录（封存至整改阶段开始）。",
                            "Finding recorded (sealed until the rectification phase)."),
    "inspection.sealed_note": ("暗访阶段的发现对责任单位封存，整改阶段开始时统一下发。",
                               "Findings are sealed from the units until the rectification phase begins."),
    "inspection.township": ("镇街", "Township"),
    "inspection.department": ("部门", "Department"),
    "inspection.none": ("（无）", "(none)"),
    "inspection.category": ("类别", "Category"),
    "inspection.severity": ("严重程度", "Severity"),
    "inspection.place": ("地点", "Place"),
    "inspection.place_hint": ("从目录选择村社、网格，或填写具体地址。",
                              "Pick a community or grid from the directory, or type the address."),
    "inspection.description": ("问题描述", "Description"),
    "inspection.photos": ("现场照片", "Photos"),
    "inspection.photos_hint": ("JPEG、PNG 或 WebP，每张不超过 {mb} MB；照片的拍摄时间和位置一并保存。",
                               "JPEG, PNG or WebP, at most {mb} MB each; when and where each was taken is kept."),
    "inspection.photo_too_large": ("有照片超过 {mb} MB，请换一张较小的照片。",
                                   "A photo is over {mb} MB: choose a smaller one."),
    "inspection.photos_too_much": ("照片合计超过 {mb} MB，请分次提交或减少照片。",
                                   "The photos come to over {mb} MB together: send fewer at a time."),
    "inspection.photos_kept": ("已上传的照片（再次提交时保留）",
                               "Photos already uploaded (kept when you submit again)"),
    "inspection.recorded_at": ("记录时间", "Recorded"),
    "inspection.recorded_by": ("记录人", "Recorded by"),
    "inspection.cycle_id_hint": ("填写平安办告知的周期编号。", "The cycle id the safety office (平安办) gave you."),
    "inspection.tasks": ("整改任务", "Rectification tasks"),
    "inspection.task": ("整改任务", "Task"),
    "inspection.status": ("状态", "State"),
    "inspection.deadline": ("整改期限", "Deadline"),
    "inspection.notice": ("通报", "Notice"),
    "inspection.notices": ("通报", "Notices"),
    "inspection.issued": ("下发时间", "Issued"),
    "inspection.timeline": ("全程留痕", "Timeline"),
    "inspection.evidence": ("佐证材料", "Evidence"),
    "inspection.listed": ("挂牌督办", "Listed for supervision"),
    "inspection.rejections": ("回访未通过次数", "Revisits rejected"),
    "inspection.origin": ("来源", "Origin"),
    "inspection.rectify": ("提交整改", "Submit the rectification"),
    "inspection.rectify_text": ("整改情况", "What was rectified"),
    "inspection.submitted": ("整改已提交，等待回访。", "Rectification submitted; it awaits the revisit."),
    "inspection.revisit": ("回访", "Revisit"),
    "inspection.outcome": ("回访结果", "Outcome"),
    "inspection.verify": ("整改到位，销号", "Rectified: verify"),
    "inspection.reject": ("未整改到位，退回", "Not rectified: reject"),
    "inspection.remaining": ("仍需整改的问题", "What remains"),
    "inspection.remaining_hint": ("退回时必填。", "Required when rejecting."),
    "inspection.revisited": ("回访已记录。", "Revisit recorded."),
    "inspection.list": ("挂牌督办", "List for supervision"),
    "inspection.list_deadline": ("督办期限（日期）", "Deadline (a date)"),
    "inspection.list_days": ("或：天数", "or: days"),
    "inspection.list_note": ("督办说明", "Reason"),
    "inspection.listed_done": ("已挂牌督办。", "Listed for supervision."),
    "inspection.scorecards": ("考核排名", "Scorecards"),
    "inspection.scorecard": ("考核结果", "Scorecard"),
    "inspection.scorecard_pending": ("周期结束后生成考核结果。", "The scorecard is made when the cycle closes."),
    "inspection.rank": ("排名", "Rank"),
    "inspection.subject": ("考核对象", "Assessed"),
    "inspection.on_time": ("按期整改", "On time"),
    "inspection.late": ("逾期整改", "Late"),
    "inspection.still_open": ("未整改", "Still open"),
    "inspection.revisit_rejections": ("回访未通过", "Revisits rejected"),
    "inspection.on_time_rate": ("按期整改率", "On-time rate"),
    "inspection.bundles": ("捆绑考核（镇街 + 部门）", "Bundled (township + department)"),
    "inspection.chart": ("按期整改率", "On-time rate"),
    "inspection.open_tasks": ("查看整改任务", "Its tasks"),
    "inspection.open_findings": ("查看暗访发现", "Its findings"),
    "inspection.my_tasks": ("本单位整改任务", "Our tasks"),
    "inspection.my_notices": ("本单位通报", "Our notices"),
    "inspection.photo": ("照片", "Photo"),
    "inspection.no_exif": ("照片未记录拍摄时间", "no date in the photo"),
})
