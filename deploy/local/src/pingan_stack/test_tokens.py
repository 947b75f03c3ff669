"""The tests' token issuer: one Ed25519 signing key per test session (per xdist worker), as the console is in a stack.

The plugin (``pingan_stack.testing``) puts its public JWKS in ``PINGAN_AUTH_JWKS`` and its key file's path in
``PINGAN_AUTH_SIGNING_KEY_FILE`` when the session starts, so a service built in-process (``PlatformSettings``) and a
process a test starts (``pingan up``, ``run_service``, ``pingan token issue``) verify and issue with the same key as
``bearer()`` signs with. The key file lives in a temporary directory of the session's own, removed at its end.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pingan_shared.auth import Role, SigningKey, TokenVerifier, issue_token, jwks_json

_key: SigningKey | None = None
_key_file: Path | None = None


def session_signing_key() -> SigningKey:
    """The session's signing key (made on first use)."""
    global _key
    if _key is None:
        _key = SigningKey.generate()
    return _key


def session_jwks() -> str:
    """The session key's public JWKS as JSON, as ``PINGAN_AUTH_JWKS`` holds it."""
    return jwks_json(session_signing_key().jwks())


def session_verifier() -> TokenVerifier:
    return TokenVerifier.from_jwks(session_signing_key().jwks())


def session_key_file() -> Path:
    """The session key as a PEM file (0600), for processes that issue (``PINGAN_AUTH_SIGNING_KEY_FILE``)."""
    global _key_file
    if _key_file is None:
        directory = Path(tempfile.mkdtemp(prefix="pingan-test-auth-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        _key_file = directory / "signing-key.pem"
        session_signing_key().save(_key_file)
    return _key_file


def session_auth_env() -> dict[str, str]:
    """The environment that lets a process verify (the JWKS) and issue (the key file) as the session does."""
    return {"PINGAN_AUTH_JWKS": session_jwks(), "PINGAN_AUTH_SIGNING_KEY_FILE": str(session_key_file())}


def install_session_auth_env() -> None:
    """Point this process (and whatever it starts) at the session key; any other key source is removed, so no
    setting of the shell the tests run in decides what they verify with."""
    for name in ("PINGAN_AUTH_JWKS_FILE", "PINGAN_AUTH_JWKS_URL"):
        os.environ.pop(name, None)
    os.environ.update(session_auth_env())


def bearer(role: Role, subject: str = "tester", *, team: str | None = None, unit: str | None = None,
           scope: str | None = None, key: SigningKey | None = None,
           issued_at: datetime | None = None, ttl: timedelta = timedelta(hours=12)) -> dict[str, str]:
    """An Authorization header with a token signed by ``key`` (the session's unless given)."""
    token = issue_token(key or session_signing_key(), role=role, subject=subject,
                        issued_at=issued_at or datetime.now(UTC), ttl=ttl, team_id=team, unit_id=unit, scope=scope)
    return {"Authorization": f"Bearer {token}"}
