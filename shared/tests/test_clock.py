"""Compressed time is anchored to one configured instant: every process agrees on "now", restarts go forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from pingan_shared.clock import FixedClock, ScaledClock, SystemClock, clock_from_settings
from pingan_shared.settings import PlatformSettings

EPOCH = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def test_scaled_time_is_a_function_of_wall_time_and_the_epoch() -> None:
    wall = FixedClock(EPOCH + timedelta(minutes=10))
    clock = ScaledClock(60, epoch=EPOCH, wall=wall)
    assert clock.now() == EPOCH + timedelta(hours=10)  # 10 real minutes at 60x
    wall.set(EPOCH)
    assert clock.now() == EPOCH  # at the epoch, scaled time is the epoch itself


def test_replicas_started_at_different_moments_agree_on_now() -> None:
    wall = FixedClock(EPOCH + timedelta(minutes=1))
    first_replica = ScaledClock(60, epoch=EPOCH, wall=wall)
    wall.advance(timedelta(seconds=37))  # the second replica starts later
    second_replica = ScaledClock(60, epoch=EPOCH, wall=wall)
    assert first_replica.now() == second_replica.now()


def test_a_restart_continues_forward() -> None:
    wall = FixedClock(EPOCH + timedelta(minutes=5))
    before_restart = ScaledClock(3600, epoch=EPOCH, wall=wall).now()
    wall.advance(timedelta(seconds=2))  # the process is down for two seconds
    after_restart = ScaledClock(3600, epoch=EPOCH, wall=wall).now()
    assert after_restart == before_restart + timedelta(hours=2)


def test_the_scaled_clock_needs_an_aware_epoch_and_a_positive_factor() -> None:
    with pytest.raises(ValueError, match="timezone"):
        ScaledClock(60, epoch=datetime(2026, 11, 1, 8, 0))
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(0, epoch=EPOCH)


def test_clock_from_settings_anchors_every_process_to_the_configured_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_CLOCK_SCALE", "60")
    monkeypatch.setenv("PINGAN_CLOCK_EPOCH", "2026-11-01T16:00:00+08:00")
    settings = PlatformSettings()
    assert settings.pingan_clock_epoch == EPOCH
    wall = FixedClock(EPOCH + timedelta(minutes=3))
    # two processes built from the same settings, one started later: they read the same "now"
    first = clock_from_settings(settings, wall=wall)
    wall.advance(timedelta(seconds=20))
    second = clock_from_settings(settings, wall=wall)
    assert first.now() == second.now() == EPOCH + timedelta(minutes=3, seconds=20) * 60
    assert isinstance(clock_from_settings(PlatformSettings(pingan_clock_scale=1)), SystemClock)


def test_a_scaled_clock_without_an_epoch_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PINGAN_CLOCK_EPOCH", raising=False)
    monkeypatch.setenv("PINGAN_CLOCK_SCALE", "60")
    with pytest.raises(ValidationError, match="PINGAN_CLOCK_EPOCH"):
        PlatformSettings()
    monkeypatch.setenv("PINGAN_CLOCK_EPOCH", "2026-11-01T08:00:00")  # no UTC offset: ambiguous across hosts
    with pytest.raises(ValidationError, match="offset"):
        PlatformSettings()
