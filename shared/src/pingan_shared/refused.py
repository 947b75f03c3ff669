"""A use case's refusal of a request: the HTTP status it means, what is wrong and the field at fault.

Raised inside a service's use case (saving a plan, a route, a finding); the HTTP route answers it as an
``ApiError`` with the same status, detail and field, a consumer or an import reports it its own way.
"""

from __future__ import annotations


class Refused(Exception):
    def __init__(self, status: int, detail: str, field: str) -> None:
        super().__init__(detail)
        self.status, self.detail, self.field = status, detail, field
