"""Where an alert is, in the directory's codes, as decided when it was raised (``alerts.places``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AlertPlace:
    place: str | None
    places: tuple[str, ...]
    township: str | None  # the 镇街's code, None when the alert lies in none (or the directory does not know it)
    place_name: str | None
    unit_name: str | None
    ladder_township: str | None  # what ``{township}`` is filled with: the code, or the legacy unit/area

    @property
    def known(self) -> bool:
        return self.place is not None
