"""The figures of tonight's coverage, and how each input event folds into the stream's state. Pure: no I/O.

Definitions (the record side, ``record.py``, computes exactly these from PostgreSQL):

* a route counts in its **latest version** (the highest ``version`` published);
* **checkpoints covered**: distinct checkpoints of that version with at least one accepted scan whose device
  time falls in the night (``night.py``: local noon to noon), by any team or member;
* **active patrollers**: distinct members with such a scan at one of those checkpoints during the night;
* **rounds late**: rounds of the route whose expected start falls in the night, for which
  ``patrol.round-not-started`` was published and no start (``round-started``, ``-completed`` or
  ``-incomplete``) was, nor the resolve signal of its not-started alert (a start, or the round cancelled);
* a **township** (the route's ``area``) adds up its routes: distinct checkpoints and members over them, and
  the sum of their late rounds. Routes without an area are grouped under ``null``.

Every fold below is order-free and idempotent (sets, a maximum, flags that only turn on), so a redelivered or
reordered event changes nothing: that is what lets the stream run at-least-once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# --- state folds (the values kept in the faust tables; plain JSON) -------------------------------------------

TeamNight = dict[str, list[str]]  # checkpoint id → sorted member ids who scanned it (one team, one night)


def add_visit(state: Mapping[str, list[str]] | None, checkpoint_id: str, member_id: str) -> TeamNight | None:
    """The team's night with one more scan; None when the scan adds nothing (a repeat or a redelivery)."""
    members = list((state or {}).get(checkpoint_id, ()))
    if member_id in members:
        return None
    updated = dict(state or {})
    updated[checkpoint_id] = sorted([*members, member_id])
    return updated


def newer_route(current: Mapping[str, Any] | None, published: Mapping[str, Any]) -> bool:
    """A published route version replaces the kept one only when it is newer (events may come out of order)."""
    return current is None or int(published["version"]) > int(current["version"])


STARTING_EVENTS = frozenset({"patrol.round-started", "patrol.round-completed", "patrol.round-incomplete"})
NOT_STARTED_EVENT = "patrol.round-not-started"


def fold_round(current: Mapping[str, Any] | None, event_type: str, route_id: str) -> dict[str, Any] | None:
    """A round's flags after one of its events; None when nothing changes. Only two facts matter for lateness
    and both only ever turn on: it was reported not started, and it started."""
    state = {"route_id": route_id, "not_started": False, "started": False, **(current or {})}
    if event_type == NOT_STARTED_EVENT:
        flag = "not_started"
    elif event_type in STARTING_EVENTS:
        flag = "started"
    else:
        return None
    if state[flag]:
        return None
    state[flag] = True
    return state


NOT_STARTED_SUFFIX = ":not-started"


def resolved_not_started(action: str, dedup_key: str, service: str, entity_type: str, entity_id: str) -> str | None:
    """The round whose not-started alert a signal closes, if it does. A late start closes it (and publishes
    round-started too), but so does the round's cancellation (a plan changed or ended), which no round event
    tells: without this a cancelled round would stay late in the stream while the record drops it."""
    if (action == "resolve" and service == "patrol" and entity_type == "round"
            and dedup_key == f"patrol:round:{entity_id}{NOT_STARTED_SUFFIX}"):
        return entity_id
    return None


def is_late(round_state: Mapping[str, Any]) -> bool:
    return bool(round_state.get("not_started")) and not round_state.get("started")


def join_visits(one: Mapping[str, list[str]], other: Mapping[str, list[str]]) -> TeamNight:
    """Two states of one team's night as one: every member at every checkpoint either has seen."""
    return {checkpoint: sorted(set(one.get(checkpoint, ())) | set(other.get(checkpoint, ())))
            for checkpoint in {*one, *other}}


def join_routes(one: Mapping[str, Any], other: Mapping[str, Any]) -> Mapping[str, Any]:
    return other if newer_route(one, other) else one


def join_rounds(one: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    return {**one, **other, "not_started": bool(one.get("not_started") or other.get("not_started")),
            "started": bool(one.get("started") or other.get("started"))}


# --- figures -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RouteInfo:
    route_id: str
    version: int
    name: str
    township: str | None
    checkpoint_ids: tuple[str, ...]


@dataclass(frozen=True)
class RouteCoverage:
    route_id: str
    version: int
    name: str
    township: str | None
    checkpoints_total: int
    checkpoints_covered: int
    covered_checkpoint_ids: list[str]
    active_patrollers: int
    rounds_late: int
    late_round_ids: list[str]


@dataclass(frozen=True)
class TownshipCoverage:
    township: str | None
    routes: int
    checkpoints_total: int
    checkpoints_covered: int
    active_patrollers: int
    rounds_late: int


@dataclass(frozen=True)
class Coverage:
    routes: list[RouteCoverage] = field(default_factory=list)
    townships: list[TownshipCoverage] = field(default_factory=list)


def compute(
    routes: Iterable[RouteInfo],
    visits: Iterable[tuple[str, str]],
    late_rounds: Iterable[tuple[str, str]],
    *,
    route: str | None = None,
    areas: Collection[str] | None = None,
) -> Coverage:
    """Coverage of one night from its inputs: ``visits`` are (checkpoint id, member id) pairs scanned in the
    night (repeats allowed), ``late_rounds`` (round id, route id) pairs. ``route`` and ``areas`` (the routes'
    areas read: a place and those beneath it, ``patrol.scope``) narrow it."""
    members_at: dict[str, set[str]] = {}
    for checkpoint_id, member_id in visits:
        members_at.setdefault(checkpoint_id, set()).add(member_id)
    late_by_route: dict[str, list[str]] = {}
    for round_id, route_id in late_rounds:
        late_by_route.setdefault(route_id, []).append(round_id)

    chosen = sorted(
        (r for r in routes if (route is None or r.route_id == route) and (areas is None or r.township in areas)),
        key=lambda r: r.route_id,
    )
    per_route: list[RouteCoverage] = []
    by_township: dict[str | None, tuple[list[RouteInfo], set[str], set[str], set[str], int]] = {}
    for info in chosen:
        checkpoints = set(info.checkpoint_ids)
        covered = sorted(c for c in checkpoints if members_at.get(c))
        patrollers = set().union(*(members_at[c] for c in covered)) if covered else set()
        late = sorted(late_by_route.get(info.route_id, []))
        per_route.append(RouteCoverage(
            route_id=info.route_id, version=info.version, name=info.name, township=info.township,
            checkpoints_total=len(checkpoints), checkpoints_covered=len(covered), covered_checkpoint_ids=covered,
            active_patrollers=len(patrollers), rounds_late=len(late), late_round_ids=late,
        ))
        infos, all_checkpoints, all_covered, all_patrollers, late_sum = by_township.get(
            info.township, ([], set(), set(), set(), 0))
        by_township[info.township] = (
            [*infos, info], all_checkpoints | checkpoints, all_covered | set(covered), all_patrollers | patrollers,
            late_sum + len(late),
        )
    townships = [
        TownshipCoverage(township=name, routes=len(infos), checkpoints_total=len(all_checkpoints),
                         checkpoints_covered=len(all_covered), active_patrollers=len(all_patrollers),
                         rounds_late=late_sum)
        for name, (infos, all_checkpoints, all_covered, all_patrollers, late_sum)
        in sorted(by_township.items(), key=lambda item: (item[0] is None, item[0] or ""))
    ]
    return Coverage(routes=per_route, townships=townships)
