"""Stream tickets (``pingan_shared.auth``): a minute-long token for opening a Server-Sent-Events stream from a
browser, carrying the caller's principal; never longer-lived than the caller's token; refused as a bearer token,
and a bearer token refused as a ticket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from pingan_shared.auth import (
    LEEWAY,
    STREAM_TICKET_USE,
    AuthError,
    Principal,
    Role,
    issue_stream_ticket,
    issue_token,
    verify_bearer,
    verify_stream_ticket,
    verify_token,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SECRET = "a-test-secret-that-is-long-enough-0123456789"
OTHER_SECRET = "another-secret-that-is-long-enough-9876543210"


def token(role: Role = Role.SUPERVISOR, *, ttl: timedelta = timedelta(hours=12), scope: dict[str, str] | None = None,
          ) -> str:
    return issue_token(SECRET, role=role, subject="督导组", issued_at=NOW, ttl=ttl, **(scope or {}))


def ticket_for(bearer_token: str, now: datetime = NOW) -> str:
    return issue_stream_ticket(SECRET, verify_bearer(SECRET, bearer_token, now=now), now=now).ticket


@pytest.mark.parametrize(("role", "scope", "expected"), [
    (Role.SUPERVISOR, {"scope": "塘下镇"}, Principal("督导组", Role.SUPERVISOR, scope="塘下镇")),
    (Role.SUPERVISOR, {}, Principal("督导组", Role.SUPERVISOR)),
    (Role.UNIT, {"unit_id": "AY"}, Principal("督导组", Role.UNIT, unit_id="AY")),
    (Role.PATROL_DEVICE, {"team_id": "一队"}, Principal("督导组", Role.PATROL_DEVICE, team_id="一队")),
])
def test_a_ticket_carries_the_callers_principal_for_a_minute(role: Role, scope: dict[str, str],
                                                              expected: Principal) -> None:
    issued = issue_stream_ticket(SECRET, verify_bearer(SECRET, token(role, scope=scope), now=NOW), now=NOW)
    assert (issued.issued_at, issued.expires_at, issued.expires_in) == (NOW, NOW + timedelta(seconds=60), 60)
    assert verify_stream_ticket(SECRET, issued.ticket, now=NOW) == expected
    claims = jwt.decode(issued.ticket, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["use"] == STREAM_TICKET_USE and claims["exp"] - claims["iat"] == 60


def test_a_ticket_issued_mid_second_still_lives_whole_seconds() -> None:
    now = NOW + timedelta(seconds=5, microseconds=700_000)
    issued = issue_stream_ticket(SECRET, verify_bearer(SECRET, token(), now=now), now=now)
    assert issued.issued_at == NOW + timedelta(seconds=5)
    assert (issued.expires_at, issued.expires_in) == (NOW + timedelta(seconds=65), 60)


def test_a_ticket_never_outlives_the_token_it_was_asked_with() -> None:
    short = token(ttl=timedelta(seconds=30))
    now = NOW + timedelta(seconds=10)
    issued = issue_stream_ticket(SECRET, verify_bearer(SECRET, short, now=now), now=now)
    assert (issued.expires_at, issued.expires_in) == (NOW + timedelta(seconds=30), 20)
    # a token already past its end (accepted within the leeway): the ticket ends with it, and says 0 seconds
    late = NOW + timedelta(seconds=40)
    issued = issue_stream_ticket(SECRET, verify_bearer(SECRET, short, now=late), now=late)
    assert (issued.expires_at, issued.expires_in) == (NOW + timedelta(seconds=30), 0)
    with pytest.raises(AuthError, match="expired"):
        verify_stream_ticket(SECRET, issued.ticket, now=NOW + timedelta(seconds=30) + LEEWAY + timedelta(seconds=1))


def test_an_expired_ticket_is_refused() -> None:
    ticket = ticket_for(token())
    end = NOW + timedelta(seconds=60) + LEEWAY  # the same skew leeway as every token
    assert verify_stream_ticket(SECRET, ticket, now=end).role is Role.SUPERVISOR
    with pytest.raises(AuthError, match="expired"):
        verify_stream_ticket(SECRET, ticket, now=end + timedelta(seconds=1))


def test_a_ticket_is_not_a_bearer_token() -> None:
    ticket = ticket_for(token())
    for verify in (verify_token, verify_bearer):
        with pytest.raises(AuthError, match="not a bearer token"):
            verify(SECRET, ticket, now=NOW)
    # so a ticket cannot ask for another one either (the ticket route verifies its caller with verify_bearer)


def test_a_bearer_token_is_not_a_ticket() -> None:
    with pytest.raises(AuthError, match="not a stream ticket"):
        verify_stream_ticket(SECRET, token(), now=NOW)


@pytest.mark.parametrize("use", ["download", 5, ""])
def test_a_token_for_another_use_is_neither(use: object) -> None:
    claims = {"iss": "pingan", "sub": "x", "role": "admin", "iat": int(NOW.timestamp()),
              "exp": int(NOW.timestamp()) + 60, "use": use}
    other = jwt.encode(claims, SECRET, algorithm="HS256")
    for verify in (verify_token, verify_stream_ticket):
        with pytest.raises(AuthError):
            verify(SECRET, other, now=NOW)


def test_forged_and_garbled_tickets_are_refused() -> None:
    forged = issue_stream_ticket(OTHER_SECRET, verify_bearer(SECRET, token(), now=NOW), now=NOW).ticket
    for bad in (forged, "garbled", "", "a.b.c", ticket_for(token())[:-4]):
        with pytest.raises(AuthError, match="invalid token"):
            verify_stream_ticket(SECRET, bad, now=NOW)


def test_a_ticket_at_the_end_of_the_calendar_still_answers_a_date() -> None:
    end = datetime(9999, 12, 31, 23, 59, 30, tzinfo=UTC)
    last = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())
    far = jwt.encode({"iss": "pingan", "sub": "x", "role": "admin", "iat": int(end.timestamp()), "exp": last},
                     SECRET, algorithm="HS256")
    issued = issue_stream_ticket(SECRET, verify_bearer(SECRET, far, now=end), now=end)
    assert issued.expires_at == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert issued.expires_in == 29
    assert verify_stream_ticket(SECRET, issued.ticket, now=end).role is Role.ADMIN
