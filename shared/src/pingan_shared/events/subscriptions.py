"""Who sends and who receives each event type: the platform's traffic, for its AsyncAPI document (``asyncapi``).

Senders follow from the catalog: an event type is sent by the service its name starts with (``patrol.…`` by patrol),
a per-producer type by each of its ``producers`` (``alerts.signal``: every source on its own topic), a dead letter by
every service, to its own ``deadletter.<service>``, and the directory's entries by their one owner, roster.

Receivers are declared here, one ``Subscription`` per consumer group, because this library knows no service: the
groups themselves are bound in each service's ``consumers.py`` (and patrol's live view in ``patrol.live.stream``).
``tests/test_asyncapi_services.py`` bootstraps every service and fails when its groups and the events they handle
differ from what is declared here, so a new consumer without its entry fails as a new event does.
"""

from __future__ import annotations

from dataclasses import dataclass

from pingan_shared.events.catalog import (
    ALERT_ACKNOWLEDGED,
    ALERT_ESCALATED,
    ALERT_RAISED,
    ALERT_RESOLVED,
    ALERT_SIGNAL,
    DIRECTORY_ENTRY,
    HAZARD_REFUSED,
    HAZARD_REPORTED,
    ROUND_COMPLETED,
    ROUND_INCOMPLETE,
    ROUND_NOT_STARTED,
    ROUND_STARTED,
    ROUTE_PUBLISHED,
    SCAN_ACCEPTED,
    SHIFT_ASSIGNED,
    SHIFT_CANCELLED,
    SHIFT_CHANGED,
    SHIFT_PLANNED,
    SHIFT_REFUSED,
    Catalog,
    EventType,
    deadletter_topic,
    signal_topic,
)

# The services with topics, outboxes and consumers, each with what it is (the console has no events: it calls them
# over HTTP). Chinese first, as every text a person reads.
SERVICES: dict[str, str] = {
    "patrol": "巡逻：扫码、巡逻轮次、漏巡、隐患上报 (patrol: scans, rounds, missed checkpoints, hazards reported)",
    "roster": "轮值排班：班次、到岗、缺勤，及地点与组织目录 (roster: shifts, attendance, no-shows, the directory)",
    "inspection": "211 暗访督查：周期、通报、整改任务 (inspection: 211 cycles, notices, rectification tasks)",
    "alerts": "告警：信号、升级、确认、关闭、通知 (alerts: signals, escalation, acknowledgement, resolution, delivery)",
}
# The directory's one owner (DESIGN.md §3; pingan_shared.directory.replica.OWNER, which a test holds equal).
DIRECTORY_OWNER = "roster"


@dataclass(frozen=True)
class Subscription:
    """A consumer group of ``service``: the event types it handles, on their catalog topics unless ``topics`` narrows
    them (the group reads those topics only). Other types on the same topics are skipped, not handled."""

    service: str
    group: str  # as the service names it; the group on the broker carries KAFKA_TOPIC_PREFIX in front
    events: tuple[str, ...]
    purpose: str
    topics: tuple[str, ...] = ()

    def topics_of(self, catalog: Catalog) -> list[str]:
        return sorted(set(self.topics) or {t for name in self.events for t in catalog.topics_of(name)})


_SHIFTS = (SHIFT_ASSIGNED, SHIFT_CHANGED, SHIFT_CANCELLED)
_LIFECYCLE = (ALERT_RAISED, ALERT_ESCALATED, ALERT_ACKNOWLEDGED, ALERT_RESOLVED)

SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("patrol", "patrol.scans", (SCAN_ACCEPTED,),
                 "扫码归入巡逻轮次并经防作弊规则判断 (scans join their rounds; the anti-fraud rules judge them)"),
    Subscription("patrol", "patrol.shifts", (*_SHIFTS, HAZARD_REFUSED, DIRECTORY_ENTRY),
                 "排班变为巡逻计划；隐患被拒的原因；目录副本 (shifts become patrol plans; why a hazard was refused; "
                 "the directory's copy)"),
    Subscription("patrol", "patrol-live",
                 (SCAN_ACCEPTED, ROUND_NOT_STARTED, ROUND_STARTED, ROUND_COMPLETED, ROUND_INCOMPLETE, ROUTE_PUBLISHED,
                  ALERT_SIGNAL),
                 "今晚的实时覆盖（faust-streaming，可由记录重建）；只读巡逻自己的告警信号 (tonight's live coverage, "
                 "faust-streaming, rebuilt from the record; of the alert signals, patrol's own only)",
                 topics=("patrol.scans", "patrol.rounds", "patrol.routes", signal_topic("patrol"))),
    Subscription("roster", "roster.scans", (SCAN_ACCEPTED,),
                 "到岗统计与班次在岗，迟到的扫码可消除缺勤 (attendance and presence; a late scan answers a no-show)"),
    Subscription("roster", "roster.patrol-answers", (SHIFT_PLANNED, SHIFT_REFUSED),
                 "巡逻对每个班次的答复 (what patrol made of each published shift)"),
    Subscription("inspection", "inspection.hazards", (HAZARD_REPORTED, DIRECTORY_ENTRY),
                 "巡逻隐患开 24 小时整改任务；目录副本 (a patrol hazard opens a 24-hour task; the directory's copy)"),
    Subscription("inspection", "inspection.accountability", _LIFECYCLE,
                 "自己信号所起告警的问责记录 (accountability records of the alerts its own signals raised)"),
    Subscription("alerts", "alerts.signals", (ALERT_SIGNAL, DIRECTORY_ENTRY),
                 "按去重键开启或关闭告警；目录副本 (raise or close the alert of each dedup key; the directory's copy)"),
)


def senders(event_type: EventType) -> tuple[str, ...]:
    """The services that send ``event_type``; ValueError for a type no known service sends (a new service's events
    need its entry in ``SERVICES``)."""
    if event_type.topic is None:  # dead letters: every service, each to its own topic
        return tuple(SERVICES)
    if event_type.per_producer:
        found = event_type.producers
    elif event_type.name == DIRECTORY_ENTRY:
        found = (DIRECTORY_OWNER,)
    else:
        found = (event_type.name.partition(".")[0],)
    unknown = [name for name in found if name not in SERVICES]
    if unknown:
        raise ValueError(f"{event_type.name}: sent by {', '.join(unknown)}, which pingan_shared.events.subscriptions "
                         "does not know: add it to SERVICES")
    return found


def send_topics(catalog: Catalog, event_type: EventType, service: str) -> list[str]:
    """The topics ``service`` sends ``event_type`` on."""
    if event_type.topic is None:
        return [deadletter_topic(service)]
    return [catalog.topic_for(event_type.name, service)]
