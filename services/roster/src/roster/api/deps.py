"""What roster's routers share: who may call, and the paging parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from pingan_shared.auth import Principal, Role
from pingan_shared.http.security import require_roles
from roster.domain.members import ID_PATTERN

Organiser = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN))]
OrganiserOrMember = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN, Role.MEMBER))]
Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
After = Annotated[str | None,
                  Query(max_length=200, pattern=ID_PATTERN, description="the last id of the previous page")]
IdQuery = Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)]
