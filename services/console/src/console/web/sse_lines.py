"""A service's Server-Sent-Events stream read line by line into events: ``event:`` names the kind, ``data:`` lines
are joined, a blank line ends the event. The alerts relay and the board's upstreams both read streams this way."""

from __future__ import annotations

import json
from typing import Any


class EventLines:
    """Feed it each line of a stream; it answers ``(kind, payload)`` when a line ends an event with data, else None.
    The payload is the data's JSON object ({} when the data is not one)."""

    def __init__(self) -> None:
        self._kind = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> tuple[str, dict[str, Any]] | None:
        if line.startswith("event:"):
            self._kind = line[6:].strip()
        elif line.startswith("data:"):
            self._data.append(line[5:].strip())
        elif line == "":
            kind, data = self._kind, self._data
            self._kind, self._data = "message", []
            if data:
                return kind, json_object("\n".join(data))
        return None


def json_object(data: str) -> dict[str, Any]:
    try:
        payload = json.loads(data)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
