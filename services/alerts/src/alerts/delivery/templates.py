"""Notification texts from jinja2 templates shipped in the package (``templates/<locale>/``): Chinese by default,
English for contacts who chose it. One template pair serves a single notification and a bundle alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined

from alerts.domain.kinds import kind_label

LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"

_EVENT_NAMES = {
    "zh": {"raised": "新预警", "escalated": "升级", "reminder": "提醒", "resolved": "已解除"},
    "en": {"raised": "raised", "escalated": "escalated", "reminder": "reminder", "resolved": "resolved"},
}
_SEVERITY_NAMES = {
    "zh": {"info": "提示", "low": "低", "medium": "中", "high": "高", "critical": "严重"},
    "en": {"info": "info", "low": "low", "medium": "medium", "high": "high", "critical": "critical"},
}


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


@cache
def _environment() -> Environment:
    # Plain text, never HTML: no autoescape; a missing variable is a bug, not an empty string.
    return Environment(loader=PackageLoader("alerts.delivery", "templates"), autoescape=False,
                       undefined=StrictUndefined, keep_trailing_newline=True)


def render(locale: str, recipient: str, items: Sequence[Mapping[str, Any]], zone: ZoneInfo) -> Rendered:
    """``items`` are notification rows (summary, event, step_index, step_label, loop, kind, severity, unit_id,
    area, link, due_at); times are shown in ``zone``."""
    if locale not in LOCALES:
        locale = DEFAULT_LOCALE
    views = [_view(locale, item, zone) for item in items]
    levels = list(dict.fromkeys(v["step_label"] for v in views if v["step_label"]))
    env = _environment()
    # Worked out here, not with jinja's selectattr filter: that one cost a burst's sends more than the rest of
    # the template (bench/alerts_latency.py).
    to_act = any(v["event"] != "resolved" for v in views)
    context = {"recipient": recipient, "items": views, "levels": levels, "to_act": to_act}
    title = env.get_template(f"{locale}/subject.txt.j2").render(context).strip()
    body = env.get_template(f"{locale}/body.txt.j2").render(context)
    return Rendered(title=" ".join(title.split()), body=body)


def _view(locale: str, item: Mapping[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    at: datetime = item["due_at"]
    return {
        "summary": item["summary"], "kind": item["kind"], "kind_name": kind_label(item["kind"], locale),
        "unit_id": item["unit_id"], "unit_name": item.get("unit_name"), "area": item["area"], "event": item["event"],
        "step_index": item["step_index"], "step_label": item["step_label"], "loop": item["loop"],
        "link": item["link"],
        "event_name": _EVENT_NAMES[locale].get(item["event"], item["event"]),
        "severity_name": _SEVERITY_NAMES[locale].get(item["severity"], item["severity"]),
        "at_local": at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
    }
