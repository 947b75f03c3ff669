"""One night's state read out of the live tables, as ``coverage.compute`` takes it, joined with what the record
held when the live view was last rebuilt from it (``Seed``); no I/O."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from patrol.live.coverage import RouteInfo, is_late, join_rounds, newer_route
from patrol.live.night import night_of_window


@dataclass(frozen=True)
class NightState:
    """What the tables hold for one night, as ``coverage.compute`` takes it."""

    routes: list[RouteInfo]
    visits: list[tuple[str, str]]
    late_rounds: list[tuple[str, str]]


@dataclass(frozen=True)
class Seed:
    """The record's state in the tables' shapes, taken after the broker lost the stream's topics (changelogs and
    inputs): every fold only grows, so the view is the join of this and the tables, and equals the record once the
    stream has caught up with what was written after the seed."""

    routes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # route id → as the ``routes`` table
    visits: Mapping[date, set[tuple[str, str]]] = field(default_factory=dict)  # night → (checkpoint, member)
    rounds: Mapping[date, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)  # night → round → flags


def night_state(tables: Mapping[str, Any], night: date, seed: Seed | None = None) -> NightState:
    """The state of ``night`` in the faust tables ``routes``, ``scans`` and ``rounds`` (windowed) and
    ``resolved``, joined with ``seed``."""
    seed = seed or Seed()
    latest: dict[str, Mapping[str, Any]] = {str(route_id): value for route_id, value in tables["routes"].items()
                                            if value}
    for route_id, value in seed.routes.items():
        if newer_route(latest.get(route_id), value):
            latest[route_id] = value
    routes = [
        RouteInfo(route_id=route_id, version=int(value["version"]), name=value["name"],
                  township=value.get("area"), checkpoint_ids=tuple(value["checkpoint_ids"]))
        for route_id, value in latest.items()
    ]
    visits = {(checkpoint_id, member_id)
              for _, value in _windows(tables["scans"], night)
              for checkpoint_id, members in value.items() for member_id in members}
    visits |= seed.visits.get(night, set())
    states: dict[str, Mapping[str, Any]] = dict(seed.rounds.get(night, {}))
    for round_id, state in _windows(tables["rounds"], night):
        held = states.get(str(round_id))
        states[str(round_id)] = state if held is None else join_rounds(held, state)
    closed = set(tables["resolved"].values())
    late = [(round_id, state["route_id"]) for round_id, state in states.items()
            if is_late(state) and round_id not in closed]
    return NightState(routes=routes, visits=sorted(visits), late_rounds=late)


def _windows(table: Any, night: date) -> Iterator[tuple[Any, dict[str, Any]]]:
    # A windowed table stores (key, (window start, window end)) → value; after a recovery the window
    # comes back from JSON as a list, hence the indexing rather than unpacking a tuple.
    for stored_key, value in list(table.data.items()):
        key, window = stored_key[0], stored_key[1]
        if value and night_of_window(float(window[0])) == night:
            yield key, value
