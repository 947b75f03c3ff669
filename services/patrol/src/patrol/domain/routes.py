"""What a route is: an ordered or unordered set of checkpoints with a Chinese name, in a township or area.

Routes are versioned: an edit that changes anything makes a new version; the same content again is no edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pingan_shared.text import StorableStr


class RouteIn(BaseModel):
    """A route as an organiser defines it (the id only on create: ``PUT /v1/routes/{id}`` takes it from the path)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: StorableStr = Field(min_length=1, max_length=200, description="e.g. 塘下镇夜巡一线",
                              json_schema_extra={"pattern": r"\S"})
    area: StorableStr | None = Field(default=None, max_length=200, description="township or area (镇街): a directory "
                                     "place's code or unique name; the code is stored")
    ordered: bool = Field(default=False, strict=True, description="checkpoints are to be walked in the listed order")
    checkpoint_ids: list[Annotated[StorableStr, Field(min_length=1, max_length=64, json_schema_extra={
        "pattern": r"\S"})]] = Field(min_length=1, max_length=500, description="in route order, each once",
                                   json_schema_extra={"uniqueItems": True})

    @field_validator("checkpoint_ids")
    @classmethod
    def _each_once(cls, ids: list[str]) -> list[str]:
        seen: set[str] = set()
        for checkpoint_id in ids:
            if checkpoint_id in seen:
                raise ValueError(f"checkpoint {checkpoint_id} is listed twice")
            seen.add(checkpoint_id)
        return ids


class NewRouteIn(RouteIn):
    id: StorableStr = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")


@dataclass(frozen=True)
class RouteVersion:
    route_id: str
    version: int
    name: str
    area: str | None
    ordered: bool
    checkpoint_ids: tuple[str, ...]
    area_name: str | None = None  # the area's name in the directory, for answers (not the route's content)

    def same_content(self, route: RouteIn) -> bool:
        return (self.name, self.area, self.ordered, self.checkpoint_ids) == (
            route.name, route.area, route.ordered, tuple(route.checkpoint_ids))
