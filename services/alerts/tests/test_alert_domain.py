"""The alert's state machine (``domain.alert``), pure: starting the climb, firing steps, what a timer finds due,
reminders, acknowledgement (single and multi-ack), escalation by hand, resolution, silences holding. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.domain.alert import Alert, AlertRefused, Fire, Status, step_event
from alerts.domain.policy import Policy, Position, Step
from alerts.domain.silence import Silence
from pingan_shared.refused import Refused

T0 = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

NOTICE = Step(0, ("unit:塘下镇",), ("inbox",), "逾期提醒", ack_timeout_seconds=3600)
LISTED = Step(7200, ("role:city-office",), ("email",), "挂牌督办")
SUMMONS = Step(3600, ("role:city-office", "unit:塘下镇"), ("inbox",), "约谈", requires_all_acks=True,
               ack_timeout_seconds=1800)
LADDER = Policy("p", "test", (NOTICE, LISTED, SUMMONS))


def row(policy: Policy = LADDER, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "a-1", "dedup_key": "inspection:task:1:overdue", "kind": "inspection.task-overdue",
        "severity": "high", "summary": "整改逾期", "unit_id": "塘下镇", "area": None,
        "source": {"service": "inspection", "entity_type": "task", "entity_id": "1", "url": None},
        "status": "open", "policy": policy.as_json(), "current_step": -1, "loop": 0, "step_fired_at": None,
        "next_escalation_at": None, "next_reminder_at": None, "held_since": None, "raised_at": T0,
        "acknowledged_at": None, "acknowledged_by": None, "resolved_at": None, "resolved_by": None,
        "resolve_reason": "", "updated_at": T0}
    return {**base, **overrides}


def alert(policy: Policy = LADDER, **overrides: Any) -> Alert:
    return Alert.from_row(row(policy, **overrides))


def at_step(index: int, *, due: datetime = T0, policy: Policy = LADDER) -> Alert:
    return alert(policy).fired(Position(index, 0), due=due, now=due)


def test_built_from_a_store_row() -> None:
    fresh = alert()
    assert (fresh.status, fresh.position, fresh.step, fresh.current_step, fresh.loop) == (Status.OPEN, None, None,
                                                                                          -1, 0)
    assert fresh.policy == LADDER
    stepped = alert(current_step=2, loop=1, status="acknowledged")
    assert (stepped.position, stepped.step, stepped.status) == (Position(2, 1), SUMMONS, Status.ACKNOWLEDGED)


def test_start_fires_an_undelayed_first_step_now_or_waits_for_its_delay() -> None:
    assert alert().start(T0) == Fire(Position(0, 0), T0, "raised")
    delayed = Policy("d", "d", (LISTED,))
    waiting = alert(delayed).start(T0)
    assert isinstance(waiting, Alert)
    assert (waiting.next_escalation_at, waiting.wake_at()) == (T0 + 2 * HOUR, T0 + 2 * HOUR)
    nowhere = alert(Policy("n", "n", ()))
    assert nowhere.start(T0) is nowhere


def test_a_fired_step_is_open_at_that_step_and_the_next_is_due_from_the_due_time() -> None:
    late = T0 + 5 * HOUR
    acked = alert(status="acknowledged", acknowledged_by="x", acknowledged_at=T0)
    fired = acked.fired(Position(0, 0), due=T0, now=late)
    assert fired.status is Status.OPEN and fired.acknowledged_by is None and fired.acknowledged_at is None
    assert (fired.position, fired.step_fired_at, fired.updated_at) == (Position(0, 0), late, late)
    assert fired.next_escalation_at == T0 + 2 * HOUR  # the next step's delay after this one's due time
    assert fired.next_reminder_at is None
    summons = at_step(2)
    assert summons.next_reminder_at == T0 + timedelta(minutes=30)  # a multi-ack step reminds
    assert summons.next_escalation_at is None and summons.next_position() is None  # the ladder's end
    assert step_event(Position(0, 0)) == "raised" and step_event(Position(1, 0)) == "escalated"
    assert step_event(Position(0, 1)) == "escalated"


def test_what_a_timer_finds_due() -> None:
    first = at_step(0)
    assert first.due(T0 + HOUR) is None
    assert first.due(T0 + 2 * HOUR) == Fire(Position(1, 0), T0 + 2 * HOUR, "delay")
    assert first.due_step(T0 + 2 * HOUR) == Fire(Position(1, 0), T0 + 2 * HOUR, "delay")
    acked = first.acknowledged("unit:x", T0 + HOUR)
    assert acked.due(T0 + 2 * HOUR + timedelta(seconds=1)) == Fire(Position(1, 0), T0 + 2 * HOUR,
                                                                    "acknowledgement-expired")
    assert acked.due_step(T0 + 3 * HOUR) is None  # not the batch's common case
    # at the ladder's end a lapsing acknowledgement makes the alert open again, with nothing more due
    last = Policy("l", "l", (NOTICE,))
    lapsing = at_step(0, policy=last).acknowledged("unit:x", T0)
    lapsed = lapsing.due(T0 + HOUR)
    assert isinstance(lapsed, Alert)
    assert (lapsed.status, lapsed.acknowledged_by, lapsed.next_escalation_at, lapsed.wake_at()) == (
        Status.OPEN, None, None, None)
    resolved = first.resolve(by=None, reason="", now=T0)
    assert resolved.due(T0 + 9 * HOUR) is None and resolved.wake_at() is None


def test_a_multi_ack_step_reminds_the_targets_not_acknowledged_yet() -> None:
    summons = at_step(2)
    assert summons.reminding() == (Position(2, 0), SUMMONS)
    assert summons.reminder_due(T0 + timedelta(minutes=30)) and not summons.reminder_due(T0)
    assert summons.due_step(T0 + timedelta(minutes=30)) is None  # a reminder is due: the one-alert path
    assert summons.unanswered({"unit:塘下镇"}) == ["role:city-office"]
    reminded = summons.reminded(T0 + 3 * HOUR)
    assert reminded.next_reminder_at == T0 + 3 * HOUR + timedelta(minutes=30)  # counted from now
    assert at_step(0).reminding() is None
    assert at_step(0).reminders_stopped(T0).next_reminder_at is None
    assert at_step(1).unanswered({"role:city-office"}) == ["role:city-office"]  # single-ack: every target


def test_acknowledging_a_single_ack_step_stops_the_climb_until_its_timeout() -> None:
    first = at_step(0)
    assert first.ack_targets({"unit:塘下镇", "person:b"}) == ["person:b"]  # one of the person's own, recorded
    acked = first.acknowledged("unit:塘下镇", T0 + timedelta(minutes=10))
    assert acked.status is Status.ACKNOWLEDGED and acked.acknowledged_by == "unit:塘下镇"
    assert acked.next_escalation_at == T0 + timedelta(minutes=70)  # the ack timeout, then the climb resumes
    no_timeout = at_step(1).acknowledged("x", T0)
    assert no_timeout.next_escalation_at is None and no_timeout.wake_at() is None
    assert alert().ack_targets({"person:a"}) == []  # before the first step: nothing to record it against


def test_a_multi_ack_step_is_acknowledged_by_its_targets_only() -> None:
    summons = at_step(2)
    assert summons.requires_all_acks
    assert summons.ack_targets({"unit:塘下镇", "person:x"}) == ["unit:塘下镇"]
    with pytest.raises(AlertRefused) as refused:
        summons.ack_targets({"person:somebody"})
    assert (refused.value.status, refused.value.field) == (409, "Authorization")
    answered = summons.acknowledged("role:city-office", T0)
    assert answered.next_escalation_at is None and answered.next_reminder_at is None


def test_escalating_by_hand() -> None:
    first = at_step(0)
    assert first.escalation_target(None) == Position(1, 0)
    assert first.escalation_target(2) == Position(2, 0)
    with pytest.raises(AlertRefused) as out_of_range:
        first.escalation_target(3)
    assert (out_of_range.value.status, out_of_range.value.field) == (422, "body.to_step")
    with pytest.raises(AlertRefused) as at_the_end:
        at_step(2).escalation_target(None)
    assert (at_the_end.value.status, at_the_end.value.field) == (409, "status")
    with pytest.raises(AlertRefused) as closed:
        first.resolve(by="x", reason="", now=T0).escalation_target(None)
    assert (closed.value.status, closed.value.field) == (409, "status")


def test_resolving_is_final() -> None:
    first = at_step(0)
    resolved = first.resolve(by="supervisor:x", reason="已整改", now=T0 + HOUR)
    assert (resolved.status, resolved.resolved_by, resolved.resolve_reason, resolved.resolved_at) == (
        Status.RESOLVED, "supervisor:x", "已整改", T0 + HOUR)
    assert resolved.next_escalation_at is None and resolved.next_reminder_at is None
    for refused_change in (lambda: resolved.resolve(by=None, reason="", now=T0),
                           lambda: resolved.ack_targets({"person:a"}),
                           lambda: resolved.acknowledged("x", T0)):
        with pytest.raises(Refused) as refused:
            refused_change()
        assert (refused.value.status, refused.value.field) == (409, "status")


def test_silences_hold_the_notifications_of_what_they_match() -> None:
    first = at_step(0)
    typhoon = Silence("s1", None, "塘下镇", None, T0, T0 + HOUR)
    elsewhere = Silence("s2", None, "安阳街道", None, T0, T0 + HOUR)
    assert first.holding([typhoon, elsewhere]) == ["s1"]
    held = first.held(T0)
    assert held.held_since == T0 and held.held(T0 + HOUR) is held  # held since the first one held
    assert held.released(T0 + HOUR).held_since is None


def test_a_resolved_notice_does_not_ask_to_act_and_kinds_read_in_chinese() -> None:
    from zoneinfo import ZoneInfo

    from alerts.delivery.templates import render

    item = {"summary": "塘下镇 整改任务逾期", "event": "resolved", "step_index": 0, "step_label": "通报", "loop": 0,
            "kind": "grid.event-timeout", "severity": "high", "unit_id": "TX", "area": None, "link": None,
            "due_at": datetime(2026, 3, 16, 1, 0, tzinfo=UTC)}
    resolved = render("zh", "张三", [item], ZoneInfo("Asia/Shanghai"))
    assert "请及时处理" not in resolved.body and "网格事件超时未处置（grid.event-timeout）" in resolved.body
    raised = render("zh", "张三", [{**item, "event": "raised"}], ZoneInfo("Asia/Shanghai"))
    assert "请及时处理并确认" in raised.body
    assert "Please act" not in render("en", "Zhang", [item], ZoneInfo("Asia/Shanghai")).body
