"""Provenance rules without I/O: whose keys and kinds a source may use, and which names no token may take."""

from __future__ import annotations

import pytest

from alerts.domain.provenance import (
    SignalRefused,
    builtin_applies,
    check_signal,
    http_source,
    namespace_of_key,
)


def test_a_source_uses_keys_of_its_own_namespace_and_no_other_sources_kinds() -> None:
    check_signal("inspection", dedup_key="inspection:task:7:overdue", kind="inspection.task-overdue")
    check_signal("grid", dedup_key="grid:event:1", kind="grid.event-timeout")
    check_signal("grid", dedup_key="grid:event:1", kind="timeout")  # a kind in no platform namespace
    refusals = [
        ("grid", "inspection:task:7:overdue", "grid.x", "dedup_key"),
        ("patrol", "inspection:task:7:overdue", "inspection.task-overdue", "dedup_key"),
        ("grid", "grid", "grid.x", "dedup_key"),  # no namespace at all
        ("grid", ":x", "grid.x", "dedup_key"),
        ("grid", "grid:", "grid.x", "dedup_key"),
        ("grid", "gridiron:x", "grid.x", "dedup_key"),  # a namespace is a whole segment, not a prefix
        ("grid", "grid:event:1", "inspection.task-overdue", "kind"),
        ("roster", "roster:shift:1:no-show:m", "patrol.round-not-started", "kind"),
    ]
    for source, key, kind, field in refusals:
        with pytest.raises(SignalRefused) as refused:
            check_signal(source, dedup_key=key, kind=kind)
        assert (refused.value.status, refused.value.field) == (422, field), (source, key, kind)


def test_no_token_speaks_for_a_platform_service() -> None:
    assert http_source("grid") == "grid"
    assert http_source("网格化管理平台") == "网格化管理平台"
    for subject in ("inspection", "patrol", "roster", "alerts", "a:b", "  "):
        with pytest.raises(SignalRefused) as refused:
            http_source(subject)
        assert (refused.value.status, refused.value.field) == (403, "Authorization")


def test_a_builtin_ladder_applies_only_to_its_own_source() -> None:
    assert builtin_applies("inspection.task-overdue", "inspection")
    assert not builtin_applies("inspection.task-overdue", "grid")
    assert not builtin_applies("patrol.round-not-started", "roster")
    assert namespace_of_key("inspection:task:a:b:overdue") == "inspection"
