"""What roster's routers share: who may call, and an id in a query (paging is ``pingan_shared.http.paging``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from pingan_shared.auth import Principal, Role
from pingan_shared.http.security import require_roles
from pingan_shared.inputs import ID_PATTERN

Organiser = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN))]
OrganiserOrMember = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN, Role.MEMBER))]
# the published roster is also read by supervisors (the command centre's board holds attendance against it), as
# they read attendance; drafts stay the organisers'
ShiftReader = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN, Role.SUPERVISOR, Role.MEMBER))]
IdQuery = Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)]
