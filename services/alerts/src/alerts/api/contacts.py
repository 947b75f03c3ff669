"""/v1/contacts: the contacts directory — people, units and role groups with their channels (admins only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse

from alerts.context import Context
from alerts.delivery import contacts
from alerts.delivery.contacts import TARGET_PATTERN, ContactIn, SecretRotationIn
from pingan_shared.auth import Principal, Role
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.paging import Limit, Page
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["contacts"])
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
TargetPath = Annotated[StorableStr, Path(pattern=TARGET_PATTERN, max_length=205,
                                         json_schema_extra={"pattern": TARGET_PATTERN},
                                         description="person:<name>, unit:<id> or role:<name>")]

_CONTACT_ANSWER = {"description": "The contact (secrets shown by fingerprint only)."}


@router.put("/contacts/{target}", response_model=None,
            responses={200: _CONTACT_ANSWER, 201: _CONTACT_ANSWER, **error_responses(422)})
async def put_contact(target: TargetPath, contact: ContactIn, ctx: Context, _: Admin) -> JSONResponse:
    """Create or replace a contact: its channels, and for a role group its members (422 names an unknown
    member)."""
    outcome, body = await contacts.put(ctx, target, contact)
    return JSONResponse(status_code=201 if outcome is contacts.Outcome.CREATED else 200, content=body)


@router.get("/contacts")
async def list_contacts(
    ctx: Context, _: Admin,
    kind: Literal["person", "unit", "role"] | None = None,
    limit: Limit = 100,
    after: Annotated[StorableStr | None, Query(max_length=205)] = None,
) -> Page[dict[str, Any]]:
    return await contacts.page(ctx, kind=kind, limit=limit, after=after)


@router.get("/contacts/{target}", response_model=None)
async def get_contact(target: TargetPath, ctx: Context, _: Admin) -> dict[str, Any]:
    return await contacts.get(ctx, target)


@router.delete("/contacts/{target}", status_code=204, response_class=Response)
async def delete_contact(target: TargetPath, ctx: Context, _: Admin) -> Response:
    """Remove a contact (and its group memberships). Notifications already queued for it fail."""
    await contacts.delete(ctx, target)
    return Response(status_code=204)


@router.post("/contacts/{target}/webhook-secret", response_model=None, responses=error_responses(422))
async def rotate_webhook_secret(target: TargetPath, rotation: SecretRotationIn, ctx: Context,
                                _: Admin) -> dict[str, Any]:
    """Rotate the webhook secret: the new one signs from now on; with keep_previous the old one keeps
    signing too (two signatures per request) until the next rotation."""
    return await contacts.rotate_secret(ctx, target, rotation)
