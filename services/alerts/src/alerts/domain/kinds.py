"""What a person reads for an alert's kind: its Chinese label (the kind itself for one nobody named)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

KIND_LABELS: Final[Mapping[str, str]] = {
    "inspection.task-overdue": "整改任务逾期",
    "patrol.round-not-started": "巡逻未按时出发",
    "patrol.checkpoint-missed": "漏巡",
    "patrol.scan-flagged": "扫码异常",
    "roster.no-show": "缺岗",
    "roster.shift-not-planned": "排班未落实到巡逻",
    "roster.handoff-due": "交接班提醒",
    "grid.event-timeout": "网格事件超时未处置",
}


def kind_label(kind: str, locale: str = "zh") -> str:
    """``整改任务逾期（inspection.task-overdue）`` in Chinese, the kind alone in English or when unnamed."""
    label = KIND_LABELS.get(kind)
    return f"{label}（{kind}）" if label and locale == "zh" else kind
