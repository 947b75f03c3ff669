"""Settings, and the claims of a bearer token: what every token must carry and how its times are judged, whoever
issued it (the verifier's keys and sources: test_token_verifier.py; the signing key: test_signing_keys.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from pingan_shared.auth import AuthError, Role, SigningKey, TokenVerifier, issue_token, jwks_json, verify_token
from pingan_shared.auth import verifier as verifier_module
from pingan_shared.settings import PlatformSettings, explain

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PRIVATE = Ed25519PrivateKey.generate()
KEY = SigningKey(PRIVATE)
VERIFIER = TokenVerifier.from_jwks(KEY.jwks())
# the shared secret every service held before: anyone with it could sign, so nothing signed with it is taken now
OLD_DEV_SECRET = "pingan-dev-only-secret-do-not-use-in-production-0123456789"


def test_the_old_shared_secret_setting_is_ignored_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_AUTH_SECRET", OLD_DEV_SECRET)
    monkeypatch.setattr(verifier_module, "_warned_of_old_secret", False)
    warnings: list[str] = []
    monkeypatch.setattr(verifier_module.log, "warning", lambda event, **_: warnings.append(event))
    settings = PlatformSettings(pingan_auth_jwks=jwks_json(KEY.jwks()))
    assert not hasattr(settings, "pingan_auth_secret")
    for _ in range(3):
        TokenVerifier.from_settings(settings)
    assert len(warnings) == 1 and "PINGAN_AUTH_SECRET is set and ignored" in warnings[0]
    old = jwt.encode({"iss": "pingan", "sub": "x", "role": "admin", "iat": int(NOW.timestamp()),
                      "exp": int(NOW.timestamp()) + 60}, OLD_DEV_SECRET, algorithm="HS256")
    with pytest.raises(AuthError, match="algorithm 'HS256' is not accepted"):
        verify_token(TokenVerifier.from_settings(settings), old, now=NOW)


def test_settings_read_the_outside_issuer_and_its_claim_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PINGAN_AUTH_JWKS", raising=False)  # the test session's own key (pingan_stack.test_tokens)
    monkeypatch.setenv("PINGAN_AUTH_JWKS_URL", "https://sso.example.gov.cn/realms/pingan/protocol/openid-connect/certs")
    monkeypatch.setenv("PINGAN_AUTH_ISSUER", "https://sso.example.gov.cn/realms/pingan")
    monkeypatch.setenv("PINGAN_AUTH_AUDIENCE", "pingan")
    monkeypatch.setenv("PINGAN_AUTH_ROLE_CLAIM", "realm_access.roles")
    monkeypatch.setenv("PINGAN_AUTH_ROLE_MAP", '{"pingan-organiser": "organiser", "平安督导": "supervisor"}')
    monkeypatch.setenv("PINGAN_AUTH_SIGNING_KEY_FILE", "")  # compose's "not set"
    settings = PlatformSettings()
    assert settings.pingan_auth_role_map == {"pingan-organiser": Role.ORGANISER, "平安督导": Role.SUPERVISOR}
    assert (settings.pingan_auth_audience, settings.pingan_auth_signing_key_file) == ("pingan", None)
    verifier = TokenVerifier.from_settings(settings)
    assert (verifier.issuer, verifier.audience) == ("https://sso.example.gov.cn/realms/pingan", "pingan")
    assert verifier.mapping.role_claim == "realm_access.roles"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("PINGAN_AUTH_ROLE_MAP", '{"x": "emperor"}', "PINGAN_AUTH_ROLE_MAP.X"),
    ("PINGAN_AUTH_ROLE_MAP", "organiser", "PINGAN_AUTH_ROLE_MAP: not JSON"),
    ("PINGAN_AUTH_ROLE_MAP", '["organiser"]', "PINGAN_AUTH_ROLE_MAP: a JSON object"),
    ("PINGAN_AUTH_JWKS_URL", "file:///etc/passwd", "is not an http(s) URL"),
])
def test_auth_settings_that_cannot_work_are_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                                  message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        PlatformSettings()
    assert message in explain(refused.value)


def test_a_service_without_a_public_key_source_cannot_be_built(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    from pingan_shared.auth import AuthConfigurationError

    for name in ("PINGAN_AUTH_JWKS", "PINGAN_AUTH_JWKS_FILE", "PINGAN_AUTH_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(AuthConfigurationError, match="no public key to verify tokens with: set PINGAN_AUTH_JWKS"):
        TokenVerifier.from_settings(PlatformSettings(pingan_env="prod"))
    both = PlatformSettings(pingan_auth_jwks=jwks_json(KEY.jwks()), pingan_auth_jwks_url="http://console:8000/x")
    with pytest.raises(AuthConfigurationError, match="set one public key source, not PINGAN_AUTH_JWKS and"):
        TokenVerifier.from_settings(both)
    with pytest.raises(AuthConfigurationError, match="PINGAN_AUTH_JWKS_FILE: cannot read"):
        TokenVerifier.from_settings(PlatformSettings(pingan_auth_jwks_file=tmp_path / "absent.json"))
    (tmp_path / "empty.json").write_text('{"keys": []}')
    with pytest.raises(AuthConfigurationError, match="holds no key"):
        TokenVerifier.from_settings(PlatformSettings(pingan_auth_jwks_file=tmp_path / "empty.json"))
    (tmp_path / "jwks.json").write_text(json.dumps(KEY.jwks()))
    from_file = TokenVerifier.from_settings(PlatformSettings(pingan_auth_jwks_file=tmp_path / "jwks.json"))
    token = issue_token(KEY, role=Role.ADMIN, subject="a", issued_at=NOW)
    assert verify_token(from_file, token, now=NOW).role is Role.ADMIN


def test_settings_reject_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValidationError):
        PlatformSettings()
    monkeypatch.setenv("PINGAN_TIMEZONE", "Asia/Shanghai")
    monkeypatch.setenv("KAFKA_TOPIC_PARTITIONS", "zero")
    with pytest.raises(ValidationError, match="kafka_topic_partitions"):
        PlatformSettings()


def test_service_settings_use_their_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    from patrol.settings import PatrolSettings
    from roster.settings import RosterSettings

    monkeypatch.setenv("PATROL_HTTP_PORT", "9101")
    monkeypatch.setenv("ROSTER_DATABASE_URL", "postgresql://x@db/roster")
    assert PatrolSettings().http_port == 9101
    assert RosterSettings().http_port == 8002
    assert RosterSettings().database_url == "postgresql://x@db/roster"


def test_the_metrics_port_is_apart_from_the_api_port(monkeypatch: pytest.MonkeyPatch) -> None:
    from inspection.settings import InspectionSettings

    settings = InspectionSettings()
    assert (settings.metrics_host, settings.metrics_port) == ("127.0.0.1", 9003)  # loopback: operators only
    monkeypatch.setenv("INSPECTION_METRICS_PORT", "8003")  # the API's: /metrics would be back beside it
    with pytest.raises(ValidationError) as refused:
        InspectionSettings()
    assert "INSPECTION_METRICS_PORT must differ from INSPECTION_HTTP_PORT (8003)" in explain(refused.value)
    monkeypatch.setenv("INSPECTION_METRICS_PORT", "0")
    monkeypatch.setenv("INSPECTION_HTTP_PORT", "0")
    assert InspectionSettings().metrics_port == 0  # both ephemeral: not the same port


def test_token_round_trip_with_scope() -> None:
    token = issue_token(KEY, role=Role.PATROL_DEVICE, subject="device-07", issued_at=NOW, team_id="一队")
    principal = verify_token(VERIFIER, token, now=NOW + timedelta(hours=1))
    assert (principal.role, principal.subject, principal.team_id) == (Role.PATROL_DEVICE, "device-07", "一队")
    unit = verify_token(VERIFIER, issue_token(KEY, role=Role.UNIT, subject="u", issued_at=NOW, unit_id="安阳街道"),
                        now=NOW)
    assert unit.unit_id == "安阳街道"


def test_scoped_roles_need_their_scope() -> None:
    with pytest.raises(ValueError, match="team"):
        issue_token(KEY, role=Role.PATROL_DEVICE, subject="d", issued_at=NOW)
    with pytest.raises(ValueError, match="unit"):
        issue_token(KEY, role=Role.UNIT, subject="u", issued_at=NOW)
    forged = KEY.sign({"iss": "pingan", "sub": "d", "role": "patrol_device", "iat": 0, "exp": 2**37})
    with pytest.raises(AuthError, match="without a team"):
        verify_token(VERIFIER, forged, now=NOW)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # bad signature
        lambda t: "not.a.token",
        lambda t: "",
        lambda t: jwt.encode({"iss": "pingan", "sub": "x", "role": "admin", "iat": 0, "exp": 2**37},
                             OLD_DEV_SECRET, algorithm="HS256"),
        lambda t: KEY.sign({"iss": "pingan", "sub": "x", "role": "emperor", "iat": 0, "exp": 2**37}),
        lambda t: jwt.encode({"iss": "pingan", "sub": "x", "role": "admin", "iat": 0, "exp": 2**37},
                             None, algorithm="none", headers={"kid": KEY.kid}),
        lambda t: SigningKey.generate().sign({"iss": "pingan", "sub": "x", "role": "admin", "iat": 0, "exp": 2**37}),
        lambda t: jwt.encode({"iss": "pingan", "sub": "x", "role": "admin", "iat": 0, "exp": 2**37},
                             Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": KEY.kid}),
        lambda t: jwt.encode({"iss": "pingan", "sub": "x", "role": "admin", "iat": 0, "exp": 2**37},
                             PRIVATE, algorithm="EdDSA"),  # no kid
        lambda t: KEY.sign({"iss": "elsewhere", "sub": "x", "role": "admin", "iat": 0, "exp": 2**37}),
    ],
    ids=["bad signature", "not a token", "empty", "HS256 with the old secret", "unknown role", "alg none",
         "another key", "another key claiming our kid", "no kid", "wrong issuer"],
)
def test_invalid_tokens_are_refused(mangle: object) -> None:
    token = issue_token(KEY, role=Role.ADMIN, subject="admin", issued_at=NOW)
    with pytest.raises(AuthError):
        verify_token(VERIFIER, mangle(token), now=NOW)  # type: ignore[operator]


def test_expiry_follows_the_injected_clock() -> None:
    token = issue_token(KEY, role=Role.SUPERVISOR, subject="s", issued_at=NOW, ttl=timedelta(hours=1))
    verify_token(VERIFIER, token, now=NOW + timedelta(minutes=59))
    with pytest.raises(AuthError, match="expired"):
        verify_token(VERIFIER, token, now=NOW + timedelta(hours=2))


# --- tokens under the injected clock (a scaled demo clock runs far ahead of the wall clock) ---------------------

FAR_AHEAD = datetime.now(UTC) + timedelta(days=400)  # where a scaled clock's "now" may well be


def _signed(claims: dict[str, object]) -> str:
    """A correctly signed token with ``claims`` over sane defaults, whatever their types (jwt.encode would
    refuse some of them; a buggy or hostile issuer holding the key would not)."""
    payload = {"iss": "pingan", "sub": "s", "role": "admin", "iat": int(NOW.timestamp()),
               "exp": int((NOW + timedelta(hours=1)).timestamp()), **claims}
    return jwt.api_jws.encode(json.dumps(payload).encode(), PRIVATE, algorithm="EdDSA", headers={"kid": KEY.kid})


def test_a_token_issued_on_a_clock_ahead_of_the_wall_clock_is_accepted_on_that_clock() -> None:
    token = issue_token(KEY, role=Role.ADMIN, subject="a", issued_at=FAR_AHEAD)
    assert verify_token(VERIFIER, token, now=FAR_AHEAD + timedelta(minutes=1)).subject == "a"


def test_issued_at_and_not_before_are_judged_by_the_injected_clock() -> None:
    later = issue_token(KEY, role=Role.ADMIN, subject="a", issued_at=NOW + timedelta(hours=1))
    with pytest.raises(AuthError, match="not yet valid"):
        verify_token(VERIFIER, later, now=NOW)
    not_before = _signed({"nbf": int((NOW + timedelta(hours=1)).timestamp())})
    with pytest.raises(AuthError, match="not yet valid"):
        verify_token(VERIFIER, not_before, now=NOW)
    assert verify_token(VERIFIER, not_before, now=NOW + timedelta(hours=1)).role is Role.ADMIN


def test_a_little_clock_skew_between_issuer_and_service_is_tolerated() -> None:
    token = issue_token(KEY, role=Role.ADMIN, subject="a", issued_at=NOW + timedelta(seconds=20))
    assert verify_token(VERIFIER, token, now=NOW).subject == "a"


MALFORMED_CLAIMS = [
    {"exp": "tomorrow"},
    {"exp": True},
    {"exp": [1]},
    {"exp": float("nan")},
    {"exp": float("inf")},
    {"iat": "yesterday"},
    {"iat": None},
    {"nbf": "now"},
    {"sub": ["a", "b"]},
    {"sub": 42},
    {"sub": ""},
    {"role": [["admin"]]},
    {"role": []},
    {"role": ["emperor", 5]},
    {"role": "patrol_device", "team": ["一队"]},
    {"role": "unit", "unit": {"id": "u"}},
    {"iss": ["pingan"]},
]


@pytest.mark.parametrize("claims", MALFORMED_CLAIMS, ids=[repr(c) for c in MALFORMED_CLAIMS])
def test_a_malformed_claim_is_an_auth_error(claims: dict[str, object]) -> None:
    with pytest.raises(AuthError):
        verify_token(VERIFIER, _signed(claims), now=NOW)


# --- time claims within the calendar ------------------------------------------------------------------------------

LAST_SECOND = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())  # the last second a datetime holds
OUT_OF_RANGE = [
    {"exp": 1e300},  # a float that never expires
    {"exp": 2**70},  # an integer past what a float orders exactly
    {"exp": LAST_SECOND + 1},
    {"exp": float(LAST_SECOND) + 0.5},
    {"iat": -5},
    {"iat": -1e300},
    {"nbf": 1e300},
    {"nbf": -1},
]


@pytest.mark.parametrize("claims", OUT_OF_RANGE, ids=[repr(c) for c in OUT_OF_RANGE])
def test_a_time_claim_outside_the_calendar_is_refused_by_name(claims: dict[str, object]) -> None:
    [name] = claims
    with pytest.raises(AuthError, match=f"{name} must be a time between 1970-01-01 and 9999-12-31T23:59:59Z"):
        verify_token(VERIFIER, _signed(claims), now=NOW)


def test_a_token_that_expires_before_it_was_issued_is_refused() -> None:
    issued = int(NOW.timestamp())
    # within the leeway it would otherwise pass as merely expired a moment ago
    with pytest.raises(AuthError, match="exp is before iat"):
        verify_token(VERIFIER, _signed({"iat": issued, "exp": issued - 30}), now=NOW)
    assert verify_token(VERIFIER, _signed({"iat": issued, "exp": issued}), now=NOW).role is Role.ADMIN


def test_the_ends_of_the_calendar_are_still_times() -> None:
    end = datetime(9999, 12, 31, 23, 59, 30, tzinfo=UTC)
    last = _signed({"iat": int(end.timestamp()), "exp": LAST_SECOND, "nbf": LAST_SECOND - 60})
    assert verify_token(VERIFIER, last, now=end).role is Role.ADMIN
    first = _signed({"iat": 0, "exp": 3600, "nbf": 0.0})
    assert verify_token(VERIFIER, first, now=datetime(1970, 1, 1, 0, 30, tzinfo=UTC)).role is Role.ADMIN
