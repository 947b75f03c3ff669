"""The broker-loss rules without servers: what a batch's acknowledgements record, and the republish window's bound."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pingan_shared.messaging.broker_loss import Acknowledged, acknowledged
from pingan_shared.settings import ServiceSettings


def test_a_batch_records_the_lowest_and_highest_offset_acknowledged_per_partition() -> None:
    deliveries = [("t.a", 1, 7), ("t.a", 0, 3), ("t.a", 1, 5), ("t.b", 0, 0), ("t.a", 1, 9), ("t.a", 0, 4)]
    assert acknowledged(deliveries) == [Acknowledged("t.a", 0, 3, 4), Acknowledged("t.a", 1, 5, 9),
                                        Acknowledged("t.b", 0, 0, 0)]
    assert acknowledged([]) == []


def test_only_kept_rows_can_be_published_again() -> None:
    same = ServiceSettings(outbox_retention_hours=24, outbox_republish_window_hours=24)
    assert same.outbox_republish_window_hours == 24
    assert ServiceSettings(outbox_republish_window_hours=0).outbox_republish_window_hours == 0
    with pytest.raises(ValidationError, match="OUTBOX_REPUBLISH_WINDOW_HOURS"):
        ServiceSettings(outbox_retention_hours=12, outbox_republish_window_hours=24)
