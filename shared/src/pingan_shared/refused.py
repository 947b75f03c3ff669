"""A use case's refusal of a request: the HTTP status it means, what is wrong and the field at fault.

Raised inside a service's domain or use case (saving a plan, a route, a finding). The shared HTTP app answers any
``Refused`` that escapes a route with the same status, detail and field (``pingan_shared.http.errors.refused_handler``):
routes do not translate refusals themselves. A consumer or an import reports it its own way.

A service names its own refusals as subclasses (``PlanRefused``, ``NotFound``), so its callers can tell them apart;
the subclasses of this module fix the status for the common cases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class Refused(Exception):
    """``field`` names the one field at fault; a refusal with several things at fault (each clash of a cycle, each
    unknown unit) gives ``errors``, one ``{"field", "reason"}`` each, and ``field`` is the first one's."""

    def __init__(self, status: int, detail: str, field: str | None = None, *,
                 errors: Sequence[Mapping[str, str]] = ()) -> None:
        super().__init__(detail)
        self.errors = [{"field": e["field"], "reason": e["reason"]} for e in errors]
        if field is None and self.errors:
            field = self.errors[0]["field"]
        self.status, self.detail, self.field = status, detail, field

    def answer(self) -> list[dict[str, str]]:
        """The ``errors`` of the HTTP answer: the things at fault, or the one field with the detail as its reason."""
        if self.errors:
            return self.errors
        return [{"field": self.field, "reason": self.detail}] if self.field else []


class NotFound(Refused):
    """No such thing (404), or none the caller may see: the answer is the same, so existence does not leak."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(404, detail, field)


class Conflict(Refused):
    """The request contradicts what is stored (409): a duplicate id with other content, a stale version."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(409, detail, field)


class Invalid(Refused):
    """Well-formed but breaks a rule (422), naming the field."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(422, detail, field)
