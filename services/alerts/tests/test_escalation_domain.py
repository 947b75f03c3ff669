"""The ladder's pure rules: which step follows, repeat N times or forever, freezing a policy onto an alert, what
leads nowhere, who sees and answers for what, silences' matchers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.domain.access import can_see, identities, within_scope
from alerts.domain.policy import (
    DEFAULT_211_LADDER,
    FOREVER,
    Policy,
    Position,
    Step,
    following,
    freeze,
    leads_nowhere,
)
from alerts.domain.silence import Silence
from pingan_shared.auth import Principal, Role

STEP = Step(0, ("role:city-office",), ("email",), "通报")


def policy(steps: int, repeat: int = 0) -> Policy:
    return Policy("p", "p", tuple(STEP for _ in range(steps)), repeat)


def test_following_climbs_then_repeats_or_ends() -> None:
    assert following(policy(2), None) == Position(0, 0)
    assert following(policy(2), Position(0, 0)) == Position(1, 0)
    assert following(policy(2), Position(1, 0)) is None
    assert following(policy(2, repeat=1), Position(1, 0)) == Position(0, 1)
    assert following(policy(2, repeat=1), Position(1, 1)) is None
    assert following(policy(1, repeat=FOREVER), Position(0, 500)) == Position(0, 501)
    assert following(policy(0), None) is None


def test_freeze_fills_placeholders_and_drops_what_it_cannot_fill() -> None:
    frozen = freeze(DEFAULT_211_LADDER, unit_id="塘下镇", area=None, township="330381102000")
    assert frozen.steps[0].targets == ("unit:塘下镇",)
    assert frozen.steps[1].targets == ("role:township-supervisor:330381102000",)
    assert frozen.steps[3].targets == ("role:city-office", "unit:塘下镇")
    assert DEFAULT_211_LADDER.steps[0].targets == ("unit:{unit}",)  # the original is untouched
    no_unit = freeze(DEFAULT_211_LADDER, unit_id=None, area="万松路")
    assert no_unit.steps[0].targets == ()
    assert leads_nowhere(no_unit) == ["step 0 (逾期提醒) has no target", "step 1 (通报) has no target"]
    assert leads_nowhere(frozen) == []
    assert leads_nowhere(policy(0)) == ["no steps"]
    assert Policy.from_json(frozen.as_json()) == frozen


def test_the_211_ladder_climbs_through_the_documented_labels_and_delays() -> None:
    assert [(s.label, s.delay_seconds // 86400) for s in DEFAULT_211_LADDER.steps] == [
        ("逾期提醒", 0), ("通报", 1), ("挂牌督办", 3), ("约谈", 7), ("问责", 14)]
    assert [s.requires_all_acks for s in DEFAULT_211_LADDER.steps] == [False, False, False, True, False]


def test_who_sees_and_answers_for_what() -> None:
    township = Principal("督查", Role.SUPERVISOR, scope="塘下镇")
    city = Principal("督查室", Role.SUPERVISOR)
    unit = Principal("联络员", Role.UNIT, unit_id="塘下镇")
    grid = Principal("网格", Role.INTEGRATION)
    assert can_see(township, unit_id="塘下镇", area=None) and can_see(township, unit_id=None, area="塘下镇")
    assert not can_see(township, unit_id="安阳街道", area="安阳街道")
    assert can_see(city, unit_id="安阳街道", area=None)
    assert can_see(unit, unit_id="塘下镇", area=None) and not can_see(unit, unit_id="安阳街道", area="塘下镇")
    assert not can_see(grid, unit_id="塘下镇", area=None)
    assert identities(township) == {"person:督查", "role:township-supervisor:塘下镇"}
    assert identities(city) == {"person:督查室", "role:city-office"}
    assert identities(unit) == {"person:联络员", "unit:塘下镇"}
    assert within_scope(township, unit_id="塘下镇", area=None)
    assert not within_scope(township, unit_id=None, area=None)
    assert not within_scope(unit, unit_id="塘下镇", area=None)


def test_a_silence_matches_by_its_matchers_while_active() -> None:
    start = datetime(2026, 3, 16, tzinfo=UTC)
    typhoon = Silence("s", None, "塘下镇", None, start, start + timedelta(days=1))
    assert typhoon.matches(kind="any.kind", unit_id="塘下镇", area="x")
    assert not typhoon.matches(kind="any.kind", unit_id="安阳街道", area=None)
    assert typhoon.active_at(start) and not typhoon.active_at(start + timedelta(days=1))
