"""What every alerts page shares: who may open it (the alerts service's own rules: it refuses the rest anyway), the
words, and how an alert's state, timeline and ladder read in Chinese or English. The pages read the alerts service
over its API as the signed-in person (never its tables); an alert outside the person's scope answers 404 there and
here alike."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Path, Request

from console.web.i18n import messages, pick
from console.web.pages import Person, require
from pingan_shared.auth import Role

SERVICE = "alerts"
# Alerts are read by units (their own), supervisors (their scope) and admins; resolving and silences are the
# supervisors' and admins'; the inbox is everyone's who is notified (organisers are targets of the patrol and
# roster ladders); policies and the auditor are the admins'.
READERS = frozenset({Role.SUPERVISOR, Role.UNIT, Role.ADMIN})
MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
INBOX_OWNERS = frozenset({Role.SUPERVISOR, Role.UNIT, Role.ORGANISER, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})
Reader = Annotated[Person, Depends(require(*READERS))]
Manager = Annotated[Person, Depends(require(*MANAGERS))]
InboxOwner = Annotated[Person, Depends(require(*INBOX_OWNERS))]
Admin = Annotated[Person, Depends(require(*ADMINS))]
# alerts' ids: alerts are UUIDs, silences sil-<hex>, policies pol-<hex>
AlertId = Annotated[str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
ObjectId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]

STATUS_LABELS: Mapping[str, tuple[str, str]] = {
    "open": ("待处理", "open"), "acknowledged": ("已确认", "acknowledged"), "resolved": ("已关闭", "resolved")}
SEVERITY_LABELS: Mapping[str, tuple[str, str]] = {
    "info": ("提示", "info"), "low": ("低", "low"), "medium": ("中", "medium"), "high": ("高", "high"),
    "critical": ("紧急", "critical")}
CHANNEL_LABELS: Mapping[str, tuple[str, str]] = {
    "inbox": ("站内信", "inbox"), "stream": ("实时推送", "live stream"), "email": ("电子邮件", "e-mail"),
    "webhook": ("Webhook", "webhook")}
TIMELINE_LABELS: Mapping[str, tuple[str, str]] = {
    "raised": ("触发", "raised"), "leads-nowhere": ("策略无人可达", "policy reaches nobody"),
    "addressed": ("追加通知对象", "people added"), "step": ("升级", "step taken"),
    "ladder-exhausted": ("阶梯已走完", "ladder exhausted"), "notified": ("发出通知", "notified"),
    "held": ("静默期暂扣通知", "held by a silence"), "released": ("静默结束补发", "released"),
    "acknowledged": ("确认", "acknowledged"), "acknowledgement-expired": ("确认已失效", "acknowledgement lapsed"),
    "reminder": ("提醒未确认者", "reminder"), "resolved": ("关闭", "resolved"),
    "delivery-attempt": ("投递", "delivery"), "delivery-failed": ("投递失败", "delivery failed"),
    "delivery-resent": ("死信重发", "re-sent"), "auditor-rearmed": ("审计重新布置定时器", "timer re-armed"),
}
OUTCOME_LABELS: Mapping[str, tuple[str, str]] = {
    "sent": ("已发送", "sent"), "delivered": ("已送达", "delivered"), "retry": ("将重试", "will retry"),
    "failed": ("失败", "failed"), "taken-back": ("超时收回", "taken back")}

messages({
    "alerts.inbox": ("预警收件箱", "Alert inbox"),
    "alerts.list": ("预警列表", "Alerts"),
    "alerts.unread": ("未读", "unread"),
    "alerts.unread_only": ("只看未读", "Unread only"),
    "alerts.live_new": ("有新的预警，刷新页面查看。", "New alerts have arrived; reload to see them."),
    "alerts.reload": ("刷新", "Reload"),
    "alerts.mark_read": ("标为已读", "Mark read"),
    "alerts.mark_unread": ("标为未读", "Mark unread"),
    "alerts.open_alert": ("查看预警", "Open the alert"),
    "alerts.received": ("收到时间", "Received"),
    "alerts.title": ("标题", "Title"),
    "alerts.message": ("内容", "Message"),
    "alerts.summary": ("摘要", "Summary"),
    "alerts.kind": ("类型", "Kind"),
    "alerts.severity": ("级别", "Severity"),
    "alerts.status": ("状态", "Status"),
    "alerts.place": ("地点", "Place"),
    "alerts.unit": ("责任单位", "Unit"),
    "alerts.step": ("当前步骤", "Step"),
    "alerts.raised_at": ("触发时间", "Raised"),
    "alerts.next_due": ("下一步到期", "Next step due"),
    "alerts.ladder": ("升级阶梯", "Escalation ladder"),
    "alerts.loop": ("第 {n} 轮", "climb {n}"),
    "alerts.after": ("之后", "after"),
    "alerts.at_once": ("立即", "at once"),
    "alerts.targets": ("通知对象", "Notified"),
    "alerts.channels": ("渠道", "Channels"),
    "alerts.multi_ack": ("须逐一确认", "each must acknowledge"),
    "alerts.ack_lapses": ("确认 {d} 后失效", "acknowledgement lapses after {d}"),
    "alerts.here": ("当前", "current"),
    "alerts.told": ("已通知", "Told"),
    "alerts.nobody_told": ("尚无送达记录", "no delivery recorded yet"),
    "alerts.next_escalation": ("下一步升级时间", "Next escalation"),
    "alerts.next_reminder": ("下次提醒", "Next reminder"),
    "alerts.ladder_end": ("阶梯已走完，停在最后一步", "the ladder is exhausted; it stays at its last step"),
    "alerts.held": ("静默期内：通知暂扣", "in a silence: notifications held"),
    "alerts.waiting": ("等待确认", "Waiting for"),
    "alerts.acked_by": ("确认人", "Acknowledged by"),
    "alerts.everyone_acked": ("全部已确认", "everyone has acknowledged"),
    "alerts.timeline": ("处置时间线", "Timeline"),
    "alerts.at": ("时间", "Time"),
    "alerts.what": ("事件", "Event"),
    "alerts.detail": ("详情", "Detail"),
    "alerts.acknowledge": ("确认收到", "Acknowledge"),
    "alerts.acknowledged": ("已确认。", "Acknowledged."),
    "alerts.ack_partial": ("已记录您的确认，仍在等待其他人确认。", "Your acknowledgement is recorded; others still "
                                                                   "have to acknowledge."),
    "alerts.resolve": ("关闭预警", "Resolve"),
    "alerts.resolve_reason": ("关闭原因", "Reason"),
    "alerts.resolve_hint": ("如：已整改到位", "e.g. rectified"),
    "alerts.resolved": ("预警已关闭。", "The alert is resolved."),
    "alerts.resolved_by": ("关闭人", "Resolved by"),
    "alerts.escalate": ("立即升级到下一步", "Escalate now"),
    "alerts.escalated": ("已升级。", "Escalated."),
    "alerts.source": ("来源", "Source"),
    "alerts.back": ("返回预警列表", "Back to the alerts"),
})


def label_of(labels: Mapping[str, tuple[str, str]], value: str | None, lang: str) -> str:
    """``value``'s words in ``lang``; the value itself when nobody named it."""
    pair = labels.get(value or "")
    return pick(lang, *pair) if pair else (value or "")


def duration(seconds: float | int | None, lang: str) -> str:
    """``1 天 2 小时`` / ``1 d 2 h``: a ladder's delays read as people say them."""
    if not seconds:
        return pick(lang, "立即", "at once")
    left = int(seconds)
    parts = []
    for size, zh, en in ((86400, "天", "d"), (3600, "小时", "h"), (60, "分钟", "min"), (1, "秒", "s")):
        if left >= size:
            count, left = divmod(left, size)
            parts.append(f"{count} {pick(lang, zh, en)}")
    return " ".join(parts[:2])


def kind_text(row: Mapping[str, Any], lang: str) -> str:
    """The alerts service names each kind in Chinese (``kind_name``); English shows the kind itself."""
    return str(row.get("kind_name") or row.get("kind") or "") if lang != "en" else str(row.get("kind") or "")


def place_text(row: Mapping[str, Any]) -> str:
    return str(row.get("place_name") or row.get("area") or row.get("place") or row.get("unit_name") or "")


def zone_of(request: Request) -> ZoneInfo:
    zone: ZoneInfo = request.app.state.runtime.platform.timezone
    return zone


def local(value: object, zone: ZoneInfo) -> str:
    """An instant the services wrote (ISO 8601 with its offset) as local ``YYYY-MM-DD HH:MM``; "" for none."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


def with_local_times(items: list[dict[str, Any]], zone: ZoneInfo, *names: str) -> list[dict[str, Any]]:
    """Each item with ``<name>_local`` beside each instant ``name``: what a table column shows."""
    return [{**item, **{f"{name}_local": local(item.get(name), zone) for name in names}} for item in items]
