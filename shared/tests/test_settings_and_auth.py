from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import ValidationError

from pingan_shared.auth import AuthError, Role, issue_token, verify_token
from pingan_shared.settings import DEV_AUTH_SECRET, PlatformSettings, explain

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SECRET = "a-test-secret-that-is-long-enough-0123456789"


def test_dev_stack_runs_with_the_published_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PINGAN_AUTH_SECRET", raising=False)
    monkeypatch.setenv("PINGAN_ENV", "dev")
    assert PlatformSettings().pingan_auth_secret.get_secret_value() == DEV_AUTH_SECRET


@pytest.mark.parametrize("secret", [None, DEV_AUTH_SECRET, "short"])
def test_production_refuses_default_or_weak_secrets(monkeypatch: pytest.MonkeyPatch, secret: str | None) -> None:
    monkeypatch.setenv("PINGAN_ENV", "prod")
    if secret is None:
        monkeypatch.delenv("PINGAN_AUTH_SECRET", raising=False)
    else:
        monkeypatch.setenv("PINGAN_AUTH_SECRET", secret)
    with pytest.raises(ValidationError, match="PINGAN_AUTH_SECRET"):
        PlatformSettings()


def test_production_starts_with_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_ENV", "prod")
    monkeypatch.setenv("PINGAN_AUTH_SECRET", SECRET)
    assert PlatformSettings().pingan_env == "prod"


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
    token = issue_token(SECRET, role=Role.PATROL_DEVICE, subject="device-07", issued_at=NOW, team_id="一队")
    principal = verify_token(SECRET, token, now=NOW + timedelta(hours=1))
    assert (principal.role, principal.subject, principal.team_id) == (Role.PATROL_DEVICE, "device-07", "一队")
    unit = verify_token(SECRET, issue_token(SECRET, role=Role.UNIT, subject="u", issued_at=NOW, unit_id="安阳街道"),
                        now=NOW)
    assert unit.unit_id == "安阳街道"


def test_scoped_roles_need_their_scope() -> None:
    with pytest.raises(ValueError, match="team"):
        issue_token(SECRET, role=Role.PATROL_DEVICE, subject="d", issued_at=NOW)
    with pytest.raises(ValueError, match="unit"):
        issue_token(SECRET, role=Role.UNIT, subject="u", issued_at=NOW)
    forged = jwt.encode({"iss": "pingan", "sub": "d", "role": "patrol_device", "iat": 0, "exp": 2**37},
                        SECRET, algorithm="HS256")
    with pytest.raises(AuthError, match="without a team"):
        verify_token(SECRET, forged, now=NOW)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # bad signature
        lambda t: "not.a.token",
        lambda t: "",
        lambda t: jwt.encode({"iss": "pingan", "sub": "x", "role": "admin", "iat": 0, "exp": 2**37},
                             "another-secret-of-sufficient-length-123", algorithm="HS256"),
        lambda t: jwt.encode({"iss": "pingan", "sub": "x", "role": "emperor", "iat": 0, "exp": 2**37},
                             SECRET, algorithm="HS256"),
        lambda t: jwt.encode({"iss": "pingan", "sub": "x", "role": "admin", "iat": 0, "exp": 2**37},
                             None, algorithm="none"),
    ],
)
def test_invalid_tokens_are_refused(mangle: object) -> None:
    token = issue_token(SECRET, role=Role.ADMIN, subject="admin", issued_at=NOW)
    with pytest.raises(AuthError):
        verify_token(SECRET, mangle(token), now=NOW)  # type: ignore[operator]


def test_expiry_follows_the_injected_clock() -> None:
    token = issue_token(SECRET, role=Role.SUPERVISOR, subject="s", issued_at=NOW, ttl=timedelta(hours=1))
    verify_token(SECRET, token, now=NOW + timedelta(minutes=59))
    with pytest.raises(AuthError, match="expired"):
        verify_token(SECRET, token, now=NOW + timedelta(hours=2))


# --- tokens under the injected clock (a scaled demo clock runs far ahead of the wall clock) ---------------------

FAR_AHEAD = datetime.now(UTC) + timedelta(days=400)  # where a scaled clock's "now" may well be


def _signed(claims: dict[str, object]) -> str:
    """A correctly signed token with ``claims`` over sane defaults, whatever their types (jwt.encode would
    refuse some of them; a buggy or hostile issuer holding the secret would not)."""
    payload = {"iss": "pingan", "sub": "s", "role": "admin", "iat": int(NOW.timestamp()),
               "exp": int((NOW + timedelta(hours=1)).timestamp()), **claims}
    return jwt.api_jws.encode(json.dumps(payload).encode(), SECRET, algorithm="HS256")


def test_a_token_issued_on_a_clock_ahead_of_the_wall_clock_is_accepted_on_that_clock() -> None:
    token = issue_token(SECRET, role=Role.ADMIN, subject="a", issued_at=FAR_AHEAD)
    assert verify_token(SECRET, token, now=FAR_AHEAD + timedelta(minutes=1)).subject == "a"


def test_issued_at_and_not_before_are_judged_by_the_injected_clock() -> None:
    later = issue_token(SECRET, role=Role.ADMIN, subject="a", issued_at=NOW + timedelta(hours=1))
    with pytest.raises(AuthError, match="not yet valid"):
        verify_token(SECRET, later, now=NOW)
    not_before = _signed({"nbf": int((NOW + timedelta(hours=1)).timestamp())})
    with pytest.raises(AuthError, match="not yet valid"):
        verify_token(SECRET, not_before, now=NOW)
    assert verify_token(SECRET, not_before, now=NOW + timedelta(hours=1)).role is Role.ADMIN


def test_a_little_clock_skew_between_issuer_and_service_is_tolerated() -> None:
    token = issue_token(SECRET, role=Role.ADMIN, subject="a", issued_at=NOW + timedelta(seconds=20))
    assert verify_token(SECRET, token, now=NOW).subject == "a"


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
    {"role": ["admin"]},
    {"role": "patrol_device", "team": ["一队"]},
    {"role": "unit", "unit": {"id": "u"}},
    {"iss": ["pingan"]},
]


@pytest.mark.parametrize("claims", MALFORMED_CLAIMS, ids=[repr(c) for c in MALFORMED_CLAIMS])
def test_a_malformed_claim_is_an_auth_error(claims: dict[str, object]) -> None:
    with pytest.raises(AuthError):
        verify_token(SECRET, _signed(claims), now=NOW)


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
        verify_token(SECRET, _signed(claims), now=NOW)


def test_a_token_that_expires_before_it_was_issued_is_refused() -> None:
    issued = int(NOW.timestamp())
    # within the leeway it would otherwise pass as merely expired a moment ago
    with pytest.raises(AuthError, match="exp is before iat"):
        verify_token(SECRET, _signed({"iat": issued, "exp": issued - 30}), now=NOW)
    assert verify_token(SECRET, _signed({"iat": issued, "exp": issued}), now=NOW).role is Role.ADMIN


def test_the_ends_of_the_calendar_are_still_times() -> None:
    end = datetime(9999, 12, 31, 23, 59, 30, tzinfo=UTC)
    last = _signed({"iat": int(end.timestamp()), "exp": LAST_SECOND, "nbf": LAST_SECOND - 60})
    assert verify_token(SECRET, last, now=end).role is Role.ADMIN
    first = _signed({"iat": 0, "exp": 3600, "nbf": 0.0})
    assert verify_token(SECRET, first, now=datetime(1970, 1, 1, 0, 30, tzinfo=UTC)).role is Role.ADMIN
