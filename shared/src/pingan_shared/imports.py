"""Bulk imports answered row by row: a bad row never sinks the file, each row says what became of it.

``ImportReport`` collects the rows (each a dict with where it stood, its id and its ``status``) and counts them by
status; ``rejected`` is a refused row with its errors (field, reason), ``validation_errors`` the errors of a row
the model refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import ValidationError

from pingan_shared.http.wording import validation_reason
from pingan_shared.text import echoable


@dataclass
class ImportReport:
    rows: list[dict[str, Any]] = field(default_factory=list)
    statuses: ClassVar[tuple[str, ...]] = ("created", "unchanged", "rejected")  # counted in ``as_dict``

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.rows)

    def as_dict(self) -> dict[str, Any]:
        return {**{status: self.count(status) for status in self.statuses}, "rows": self.rows}


def rejected(where: Mapping[str, Any], errors: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """A refused row: ``where`` (its place and id, in the order the answer shows them), then its errors."""
    return {**where, "status": "rejected", "errors": [{"field": f, "reason": echoable(r)} for f, r in errors]}


def validation_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """(field, reason) of each error of a row the model refused; "(row)" where no field is at fault. The reason is
    Chinese first, as a 422 of the same model says it (``http.wording``): a person reads it in a page or a report."""
    return [(".".join(str(p) for p in e["loc"]) or "(row)", validation_reason(e)) for e in exc.errors()]
