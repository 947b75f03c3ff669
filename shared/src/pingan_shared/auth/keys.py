"""The keys of the bearer tokens: the issuer's Ed25519 signing key, and the public keys (a JWKS) services verify with.

Only the issuer (the console, ``pingan token issue``) holds a ``SigningKey``; a service holds a ``KeySet`` of public
keys, which can verify a token and never mint one. Each key is named by its ``kid``, the RFC 7638 thumbprint of its
public half, so the same key has the same name wherever it is published and a token names the key it was signed with.
A JWKS may also carry an outside OpenID Connect provider's keys (RSA or EC): every key type has its own asymmetric
algorithms, and a symmetric ("oct") key or a private key is never taken as a verification key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SIGNING_ALGORITHM = "EdDSA"
# What a public key of each type may verify: asymmetric algorithms only, one per key type and curve. HS* (a shared
# secret anyone verifying could also sign with) and "none" appear nowhere, so no key ever verifies them.
_ALGORITHM_BY_KEY = {("OKP", "Ed25519"): "EdDSA", ("RSA", None): "RS256", ("EC", "P-256"): "ES256"}
ALLOWED_ALGORITHMS = frozenset(_ALGORITHM_BY_KEY.values())
MIN_RSA_BITS = 2048


class UnusableKey(ValueError):
    """A signing key file or a JWKS that cannot be used, with what to do about it."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 thumbprint of a public JWK (SHA-256 of its required members, in order, without whitespace)."""
    required = {"OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}
    members = required.get(str(jwk.get("kty")))
    if members is None:
        raise UnusableKey(f"no thumbprint for key type {jwk.get('kty')!r}")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


class SigningKey:
    """The issuer's Ed25519 private key and its ``kid``. Its text never appears in a repr or a log."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._public = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}
        self.kid = thumbprint(self._public)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: str | Path) -> SigningKey:
        """The key in a PEM (PKCS #8) file, as ``save`` or ``pingan auth keygen`` wrote it."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise UnusableKey(f"cannot read the signing key {path}: {exc.strerror or exc} (make one with "
                            "`pingan auth keygen --out PATH`)") from exc
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise UnusableKey(f"{path} is not an unencrypted PEM (PKCS #8) private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise UnusableKey(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
        return cls(key)

    def save(self, path: str | Path) -> None:
        """Write the key as PEM (PKCS #8), readable by its owner only (0600), its directory created (0700). Written
        to a temporary file beside it and renamed, so no reader ever sees half a key."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = self._private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")  # mkstemp: mode 0600
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(pem)
            os.chmod(temporary, 0o600)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def public_jwk(self) -> dict[str, str]:
        return {**self._public, "kid": self.kid, "alg": SIGNING_ALGORITHM, "use": "sig"}

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self.public_jwk()]}

    def sign(self, claims: Mapping[str, object]) -> str:
        """A JWT of ``claims`` signed with this key (EdDSA), its header naming the key."""
        return jwt.encode(dict(claims), self._private_key, algorithm=SIGNING_ALGORITHM, headers={"kid": self.kid})

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"


@dataclass(frozen=True)
class PublicKey:
    kid: str
    algorithm: str  # the one algorithm a token signed with this key may name
    key: Any  # a cryptography public key


@dataclass(frozen=True)
class KeySet:
    """Public verification keys by kid, read from a JWKS."""

    keys: Mapping[str, PublicKey]

    def get(self, kid: str) -> PublicKey | None:
        return self.keys.get(kid)

    @classmethod
    def from_jwks(cls, jwks: object, *, skipped: list[str] | None = None) -> KeySet:
        """The usable keys of ``jwks`` (a dict ``{"keys": [...]}``). A key that cannot verify our tokens (a
        symmetric key, a private key, an unknown type or curve, one meant for encryption, one without a kid) is
        left out and its reason appended to ``skipped``; without ``skipped`` it is an error instead, as it is for
        a JWKS an operator wrote themselves."""
        if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
            raise UnusableKey('a JWKS is a JSON object {"keys": [...]}')
        keys: dict[str, PublicKey] = {}
        for index, jwk in enumerate(jwks["keys"]):
            try:
                key = _public_key(jwk)
            except UnusableKey as exc:
                if skipped is None:
                    raise UnusableKey(f"JWKS key {index}: {exc}") from exc
                skipped.append(f"key {index}: {exc}")
                continue
            keys[key.kid] = key
        return cls(keys)

    @classmethod
    def from_json(cls, text: str | bytes, *, skipped: list[str] | None = None) -> KeySet:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise UnusableKey(f"the JWKS is not JSON: {exc}") from exc
        return cls.from_jwks(data, skipped=skipped)


def _public_key(jwk: object) -> PublicKey:
    if not isinstance(jwk, Mapping):
        raise UnusableKey("not a JSON object")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "oct":
        raise UnusableKey("a symmetric key verifies nothing here: whoever holds it could sign tokens too")
    if "d" in jwk or "p" in jwk:
        raise UnusableKey("a private key: publish the public half only")
    algorithm = _ALGORITHM_BY_KEY.get((str(kty), None if kty == "RSA" else str(crv)))
    if algorithm is None:
        raise UnusableKey(f"key type {kty!r} curve {crv!r} is not supported (Ed25519, RSA, EC P-256)")
    if jwk.get("use", "sig") != "sig":
        raise UnusableKey(f"use {jwk.get('use')!r}: not a signing key")
    if jwk.get("alg", algorithm) != algorithm:
        raise UnusableKey(f"alg {jwk.get('alg')!r} is not {algorithm}, the one algorithm taken for a {kty} key")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise UnusableKey("no kid: a token could not name it")
    try:
        key = jwt.PyJWK(dict(jwk), algorithm).key
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise UnusableKey(f"unreadable {kty} key: {exc}") from exc
    if kty == "RSA" and key.key_size < MIN_RSA_BITS:
        raise UnusableKey(f"an RSA key of {key.key_size} bits; at least {MIN_RSA_BITS}")
    return PublicKey(kid=kid, algorithm=algorithm, key=key)
