"""/v1/directory/entries on every service: the city's places and organisations as the service's copy of the
directory holds them (DESIGN.md §3). Everyone signed in reads them: names are not secret. Defining entries is the
owner's (roster: ``POST /v1/directory/imports``, ``PUT /v1/directory/entries/{code}``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from pingan_shared.auth import Principal, Role
from pingan_shared.directory import reads
from pingan_shared.events.directory_contracts import EntryKind
from pingan_shared.http.paging import After, Limit, Page, page_of
from pingan_shared.http.security import require_roles
from pingan_shared.inputs import ID_PATTERN

router = APIRouter(prefix="/v1/directory", tags=["directory"])
Reader = Annotated[Principal, Depends(require_roles(*Role))]
Code = Annotated[str, Path(max_length=64, pattern=ID_PATTERN)]


@router.get("/entries")
async def list_entries(
    request: Request, _: Reader, limit: Limit = 100, after: After = None, kind: EntryKind | None = None,
    under: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN,
                                       description="only entries beneath this place (itself included)")] = None,
    name: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]+$", description="part of the name")] = None,
    parent: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN,
                                        description="only the entries directly beneath this place")] = None,
) -> Page[dict[str, Any]]:
    """Entries in code order: of one kind, beneath one place (or directly beneath it), or by part of a name."""
    async with request.app.state.runtime.connection() as conn:
        items = await reads.listing(conn, kind=kind, under=under, name=name, limit=limit, after=after,
                                    parent=parent)
    return page_of(items, limit, lambda entry: entry["code"])


@router.get("/entries/{code}")
async def get_entry(code: Code, request: Request, _: Reader) -> dict[str, Any]:
    """An entry with its lineage (the places above it), its township and how many entries lie beneath it."""
    async with request.app.state.runtime.connection() as conn:
        return await reads.describe(conn, code)
