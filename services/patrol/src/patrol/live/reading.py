"""One night's state read out of the live tables, as ``coverage.compute`` takes it; no I/O."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from patrol.live.coverage import RouteInfo, is_late
from patrol.live.night import night_of_window


@dataclass(frozen=True)
class NightState:
    """What the tables hold for one night, as ``coverage.compute`` takes it."""

    routes: list[RouteInfo]
    visits: list[tuple[str, str]]
    late_rounds: list[tuple[str, str]]


def night_state(tables: Mapping[str, Any], night: date) -> NightState:
    """The state of ``night`` in the faust tables ``routes``, ``scans`` and ``rounds`` (windowed) and
    ``resolved``."""
    routes = [
        RouteInfo(route_id=str(route_id), version=int(value["version"]), name=value["name"],
                  township=value.get("area"), checkpoint_ids=tuple(value["checkpoint_ids"]))
        for route_id, value in tables["routes"].items() if value
    ]
    visits = [(checkpoint_id, member_id)
              for _, value in _windows(tables["scans"], night)
              for checkpoint_id, members in value.items() for member_id in members]
    closed = set(tables["resolved"].values())
    late = [(str(round_id), state["route_id"])
            for round_id, state in _windows(tables["rounds"], night)
            if is_late(state) and str(round_id) not in closed]
    return NightState(routes=routes, visits=visits, late_rounds=late)


def _windows(table: Any, night: date) -> Iterator[tuple[Any, dict[str, Any]]]:
    # A windowed table stores (key, (window start, window end)) → value; after a recovery the window
    # comes back from JSON as a list, hence the indexing rather than unpacking a tuple.
    for stored_key, value in list(table.data.items()):
        key, window = stored_key[0], stored_key[1]
        if value and night_of_window(float(window[0])) == night:
            yield key, value
