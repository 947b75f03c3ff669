"""Minting bearer tokens: only an issuer does this (the console, ``pingan token issue``), with the signing key in
``PINGAN_AUTH_SIGNING_KEY_FILE``. A service never reads that setting."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pingan_shared.auth.claims import ISSUER, Role
from pingan_shared.auth.keys import SigningKey, UnusableKey

if TYPE_CHECKING:
    from pingan_shared.settings import PlatformSettings


def issue_token(
    key: SigningKey,
    *,
    role: Role,
    subject: str,
    issued_at: datetime,
    ttl: timedelta = timedelta(hours=12),
    team_id: str | None = None,
    unit_id: str | None = None,
    scope: str | None = None,
    audience: str | None = None,
) -> str:
    """A bearer token for ``subject`` in ``role``, signed with ``key`` (EdDSA; its header names the key's kid).
    ``audience`` is for a deployment that sets PINGAN_AUTH_AUDIENCE: the services then require it."""
    if role is Role.PATROL_DEVICE and not team_id:
        raise ValueError("a patrol_device token needs --team")
    if role is Role.UNIT and not unit_id:
        raise ValueError("a unit token needs --unit")
    if not subject.strip():
        raise ValueError("subject must not be empty")
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": subject,
        "role": role.value,
        "iat": int(issued_at.timestamp()),
        "exp": int((issued_at + ttl).timestamp()),
    }
    for name, value in (("team", team_id), ("unit", unit_id), ("scope", scope), ("aud", audience)):
        if value:
            claims[name] = value
    return key.sign(claims)


def signing_key_from_settings(settings: PlatformSettings, *, default: Path | None = None) -> SigningKey:
    """The issuer's key: the file PINGAN_AUTH_SIGNING_KEY_FILE names, else ``default`` (the dev stack's).
    ``UnusableKey`` saying which file and what to do when there is none."""
    path = settings.pingan_auth_signing_key_file or default
    if path is None:
        raise UnusableKey("no signing key: set PINGAN_AUTH_SIGNING_KEY_FILE (make a key with "
                          "`pingan auth keygen --out PATH`)")
    return SigningKey.load(path)
