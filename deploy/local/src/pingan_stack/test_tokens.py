"""The tests' token issuer: one Ed25519 signing key per test session (per xdist worker), as the console is in a stack.

The plugin (``pingan_stack.testing``) puts its public JWKS in ``PINGAN_AUTH_JWKS`` and its key file's path in
``PINGAN_AUTH_SIGNING_KEY_FILE`` when the session starts, so a service built in-process (``PlatformSettings``) and a
process a test starts (``pingan up``, ``run_service``, ``pingan token issue``) verify and issue with the same key as
``bearer()`` signs with. The key file lives in a temporary directory of the session's own, removed at its end.

``OutsideProvider`` and ``JwksServer`` play an outside OpenID Connect provider: its keys and tokens, and its JWKS
served over HTTP.
"""

from __future__ import annotations

import atexit
import http.server
import json
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pingan_shared.auth import Role, SigningKey, TokenVerifier, issue_token, jwks_json

_private_key: Ed25519PrivateKey | None = None
_key_file: Path | None = None


_key: SigningKey | None = None


def session_signing_key() -> SigningKey:
    """The session's signing key (made on first use)."""
    global _private_key, _key
    if _key is None:
        _private_key = Ed25519PrivateKey.generate()
        _key = SigningKey(_private_key)
    return _key


def session_signed(payload: dict[str, Any], *, kid: str | None = None) -> str:
    """``payload`` signed with the session's key whatever its claims' types (``issue_token`` and ``jwt.encode``
    would refuse some: a buggy or hostile issuer holding the key would not), its header naming ``kid`` (the key's
    own unless given)."""
    key = session_signing_key()
    assert _private_key is not None
    return jwt.api_jws.encode(json.dumps(payload).encode(), _private_key, algorithm="EdDSA",
                              headers={"kid": kid or key.kid})


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


# --- an outside OpenID Connect provider, as a test plays it -------------------------------------------------------

class OutsideProvider:
    """A provider's signing keys (RS256 or ES256, made in the test) and the tokens it would hand out: claims as the
    test writes them, signed with its current key, whose kid is in its JWKS. ``rotate()`` adds a new key and signs
    with it from then on (the old one stays published until ``retire()``)."""

    def __init__(self, algorithm: str = "RS256", issuer: str = "https://sso.example.gov.cn/realms/pingan") -> None:
        self.algorithm = algorithm
        self.issuer = issuer
        self._keys: list[tuple[str, Any]] = []
        self.rotate()

    def _new_key(self) -> Any:
        if self.algorithm == "RS256":
            return rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if self.algorithm == "ES256":
            return ec.generate_private_key(ec.SECP256R1())
        raise ValueError(f"no provider key for {self.algorithm}")

    def rotate(self) -> str:
        """A new current key; its kid."""
        key = self._new_key()
        self._keys.append((f"{self.algorithm.lower()}-{len(self._keys) + 1}-{uuid.uuid4().hex[:6]}", key))
        return self.kid

    def retire(self) -> None:
        """Stop publishing every key but the current one."""
        self._keys = self._keys[-1:]

    @property
    def kid(self) -> str:
        return self._keys[-1][0]

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        keys = []
        for kid, key in self._keys:
            jwk = algorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "alg": self.algorithm, "use": "sig"})
        return {"keys": keys}

    def token(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode({"iss": self.issuer, **claims}, self._keys[-1][1], algorithm=self.algorithm,
                          headers={"kid": kid or self.kid})


class JwksServer:
    """A JWKS served over HTTP on a free loopback port, by a thread (the services fetch it as they would an
    issuer's): ``jwks`` is what it answers now, ``hits`` how often it was asked."""

    def __init__(self, jwks: Callable[[], dict[str, Any]]) -> None:
        self.jwks = jwks
        self.hits = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                owner.hits += 1
                body = json.dumps(owner.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the test says what matters
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="jwks-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/realms/pingan/protocol/openid-connect/certs"

    def __enter__(self) -> JwksServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
