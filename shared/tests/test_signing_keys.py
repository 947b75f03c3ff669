"""The issuer's Ed25519 signing key and the public keys a service takes from a JWKS (``pingan_shared.auth.keys``)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pingan_shared.auth import KeySet, SigningKey, UnusableKey
from pingan_shared.auth.keys import thumbprint


def test_a_key_saved_is_the_key_loaded_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    key = SigningKey.generate()
    path = tmp_path / "auth" / "signing-key.pem"
    key.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0  # the directory made for it: its owner's too
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS #8
    loaded = SigningKey.load(path)
    assert loaded.kid == key.kid and loaded.jwks() == key.jwks()
    assert [p.name for p in path.parent.iterdir()] == ["signing-key.pem"]  # no temporary file left beside it


def test_the_jwks_publishes_the_public_half_named_by_its_thumbprint() -> None:
    key = SigningKey.generate()
    [jwk] = key.jwks()["keys"]
    assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert jwk["kid"] == key.kid == thumbprint(jwk)
    assert "d" not in jwk and repr(key) == f"SigningKey(kid={key.kid!r})"  # the private half never shows
    token = key.sign({"sub": "x"})
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": key.kid, "typ": "JWT"}


def test_the_thumbprint_is_rfc_7638s() -> None:
    # RFC 8037, appendix A.3: the thumbprint of its Ed25519 example key
    example = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert thumbprint(example) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_a_file_that_is_no_ed25519_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(UnusableKey, match=r"cannot read the signing key .*pingan auth keygen"):
        SigningKey.load(tmp_path / "absent.pem")
    (tmp_path / "text.pem").write_text("not a key")
    with pytest.raises(UnusableKey, match="is not an unencrypted PEM"):
        SigningKey.load(tmp_path / "text.pem")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "rsa.pem").write_bytes(rsa_key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
    with pytest.raises(UnusableKey, match="not an Ed25519 key"):
        SigningKey.load(tmp_path / "rsa.pem")


def _jwk(algorithm: str, key: Any, **extra: Any) -> dict[str, Any]:
    return {**jwt.get_algorithm_by_name(algorithm).to_jwk(key, as_dict=True), **extra}


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED = SigningKey.generate().public_jwk()

REFUSED_JWKS = [
    ({"kty": "oct", "k": "c2VjcmV0", "kid": "h"}, "a symmetric key verifies nothing here"),
    (_jwk("RS256", RSA_KEY, kid="p"), "a private key"),  # the private half, published by mistake
    (_jwk("ES256", ec.generate_private_key(ec.SECP384R1()).public_key(), kid="c"), "curve 'P-384' is not supported"),
    ({**ED, "kid": ""}, "no kid"),
    ({k: v for k, v in ED.items() if k != "kid"}, "no kid"),
    ({**ED, "use": "enc"}, "not a signing key"),
    ({**ED, "alg": "HS256"}, "alg 'HS256' is not EdDSA"),
    (_jwk("RS256", RSA_KEY.public_key(), kid="r", alg="RS512"), "alg 'RS512' is not RS256"),
    (_jwk("RS256", rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key(), kid="s"),
     "RSA key of 1024 bits"),
    ({**ED, "x": "short"}, "unreadable OKP key"),
    ("a string", "not a JSON object"),
]


@pytest.mark.parametrize(("jwk", "reason"), REFUSED_JWKS, ids=[r for _, r in REFUSED_JWKS])
def test_a_jwks_key_that_could_not_verify_our_tokens_is_refused_or_left_out(jwk: Any, reason: str) -> None:
    good = _jwk("ES256", EC_KEY.public_key(), kid="good")
    with pytest.raises(UnusableKey, match=reason):
        KeySet.from_jwks({"keys": [good, jwk]})  # a JWKS an operator wrote: every key must be usable
    skipped: list[str] = []
    fetched = KeySet.from_jwks({"keys": [good, jwk]}, skipped=skipped)  # a provider's: the usable ones are taken
    assert list(fetched.keys) == ["good"] and fetched.keys["good"].algorithm == "ES256"
    assert len(skipped) == 1 and reason in skipped[0] and skipped[0].startswith("key 1:")


def test_each_key_type_verifies_one_asymmetric_algorithm() -> None:
    keys = KeySet.from_jwks({"keys": [ED, _jwk("RS256", RSA_KEY.public_key(), kid="r"),
                                      _jwk("ES256", EC_KEY.public_key(), kid="e")]})
    assert {kid: key.algorithm for kid, key in keys.keys.items()} == {ED["kid"]: "EdDSA", "r": "RS256", "e": "ES256"}


@pytest.mark.parametrize("text", ['{"keys": {}}', "[]", "not json", '{"key": []}'])
def test_what_is_no_jwks_is_named(text: str) -> None:
    with pytest.raises(UnusableKey, match="JWKS"):
        KeySet.from_json(text)
