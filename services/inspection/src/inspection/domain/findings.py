"""A finding of covert inspection (暗访发现): what it must say, and the hazard key that keeps one open task per
unit and hazard."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from enum import StrEnum
from typing import TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator

from inspection.domain.schema import WHOLE_POSITION, present, stripped_identifier
from pingan_shared.inputs import non_blank
from pingan_shared.text import StorableStr

FindingKey: TypeAlias = stripped_identifier(64)  # type: ignore[valid-type]
Reference: TypeAlias = non_blank(64)  # type: ignore[valid-type]  # a cycle's or a unit's id, as stored
Place: TypeAlias = non_blank(200)  # type: ignore[valid-type]
Description: TypeAlias = non_blank(4000)  # type: ignore[valid-type]
HazardKey: TypeAlias = non_blank(200)  # type: ignore[valid-type]


class Category(StrEnum):
    FIRE = "fire"                          # 消防
    GAS = "gas"                            # 燃气
    ROADS = "roads"                        # 道路交通
    CONSTRUCTION = "construction"          # 建筑工地
    CAMPUS = "campus"                      # 校园
    ENTERPRISE = "enterprise"              # 企业安全生产
    PUBLIC_ORDER = "public-order"          # 社会治安
    OTHER = "other"


CATEGORY_NAMES = {
    Category.FIRE: "消防安全", Category.GAS: "燃气安全", Category.ROADS: "道路交通",
    Category.CONSTRUCTION: "建筑工地", Category.CAMPUS: "校园安全", Category.ENTERPRISE: "企业安全生产",
    Category.PUBLIC_ORDER: "社会治安", Category.OTHER: "其他",
}


class FindingSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class FindingIn(BaseModel):
    # The JSON Schema (and so the OpenAPI) states what the validator below enforces: a township, a department
    # or both; coordinates together.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, json_schema_extra={"allOf": [
        {"anyOf": [present("township_unit_id", "string"), present("department_unit_id", "string")]},
        WHOLE_POSITION,
    ]})

    id: FindingKey | None = Field(default=None, description=(
        "your key for this finding (retrying with it is harmless); keys are per recorder. An inspector's or admin's "
        "is the finding's id; a supervision-group member's finding gets its own id (the key stays as client_id). "
        "Made up if absent"))
    cycle_id: Reference
    township_unit_id: Reference | None = Field(default=None,
                                               description="the township (镇街); this, a department or both")
    department_unit_id: Reference | None = Field(default=None,
                                                 description="the department (部门); this, a township or both")
    category: Category
    severity: FindingSeverity = FindingSeverity.MEDIUM
    place: Place
    latitude: float | None = Field(default=None, ge=-90, le=90, strict=True)
    longitude: float | None = Field(default=None, ge=-180, le=180, strict=True)
    description: Description
    evidence: list[StorableStr] = Field(default_factory=list, max_length=50,
                                        description="references to photos, videos or documents")
    hazard_key: HazardKey | None = Field(default=None, description=(
        "what makes two findings the same hazard; default: category and place"))

    @model_validator(mode="after")
    def _has_a_unit_and_a_whole_position(self) -> FindingIn:
        if self.township_unit_id is None and self.department_unit_id is None:
            raise ValueError("give township_unit_id, department_unit_id or both")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        return self

    def effective_hazard_key(self) -> str:
        return self.hazard_key or hazard_key(self.category, self.place)

    def unit_ids(self) -> list[str]:
        return [u for u in (self.township_unit_id, self.department_unit_id) if u is not None]

    def fingerprint(self) -> str:
        """Same id + same fingerprint = a harmless retry; same id + another = a conflict."""
        content = self.model_dump(mode="json", exclude={"id"})
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def hazard_key(category: str, place: str) -> str:
    """Two reports of one hazard: same category, same place once width, case and spacing are normalised."""
    normalised = "".join(unicodedata.normalize("NFKC", place).lower().split())
    return f"{category}:{normalised}"
