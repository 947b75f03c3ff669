"""Stream tickets (``pingan_shared.auth``): a minute-long token for opening a Server-Sent-Events stream from a
browser, carrying the caller's principal; never longer-lived than the caller's token; refused as a bearer token,
and a bearer token refused as a ticket; signed with the issuing process's own random key (``TicketKey``), bound to
the service that issued it, with an id of its own (its one use is recorded by that service:
``pingan_shared.http.tickets``, tested over HTTP in the services)."""

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
    SigningKey,
    TicketKey,
    TokenVerifier,
    VerifiedToken,
    issue_stream_ticket,
    issue_token,
    verify_stream_ticket,
    verify_token,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SERVICE = "alerts"
KEY = SigningKey.generate()  # the issuer's (the console's): bearer tokens
VERIFIER = TokenVerifier.from_jwks(KEY.jwks())
TICKETS = TicketKey.generate()  # the service process's own: its stream tickets
OTHER_PROCESS = TicketKey.generate()


def verify_bearer(token: str, *, now: datetime) -> VerifiedToken:
    return VERIFIER.check(token, now=now)


def token(role: Role = Role.SUPERVISOR, *, ttl: timedelta = timedelta(hours=12), scope: dict[str, str] | None = None,
          ) -> str:
    return issue_token(KEY, role=role, subject="督导组", issued_at=NOW, ttl=ttl, **(scope or {}))


def verify_ticket(ticket: str, *, now: datetime, audience: str = SERVICE) -> Principal:
    return verify_stream_ticket(TICKETS, ticket, now=now, audience=audience).principal


def ticket_for(bearer_token: str, now: datetime = NOW) -> str:
    return issue_stream_ticket(TICKETS, verify_bearer(bearer_token, now=now), now=now, audience=SERVICE).ticket


@pytest.mark.parametrize(("role", "scope", "expected"), [
    (Role.SUPERVISOR, {"scope": "塘下镇"}, Principal("督导组", Role.SUPERVISOR, scope="塘下镇")),
    (Role.SUPERVISOR, {}, Principal("督导组", Role.SUPERVISOR)),
    (Role.UNIT, {"unit_id": "AY"}, Principal("督导组", Role.UNIT, unit_id="AY")),
    (Role.PATROL_DEVICE, {"team_id": "一队"}, Principal("督导组", Role.PATROL_DEVICE, team_id="一队")),
])
def test_a_ticket_carries_the_callers_principal_for_a_minute(role: Role, scope: dict[str, str],
                                                              expected: Principal) -> None:
    caller = verify_bearer(token(role, scope=scope), now=NOW)
    issued = issue_stream_ticket(TICKETS, caller, now=NOW, audience=SERVICE)
    assert (issued.issued_at, issued.expires_at, issued.expires_in) == (NOW, NOW + timedelta(seconds=60), 60)
    assert verify_ticket(issued.ticket, now=NOW) == expected
    claims = jwt.decode(issued.ticket, TICKETS.secret, algorithms=["HS256"], options={"verify_exp": False},
                        audience=SERVICE)
    assert claims["use"] == STREAM_TICKET_USE and claims["exp"] - claims["iat"] == 60
    assert claims["aud"] == SERVICE and len(claims["jti"]) == 32


def test_a_ticket_issued_mid_second_still_lives_whole_seconds() -> None:
    now = NOW + timedelta(seconds=5, microseconds=700_000)
    issued = issue_stream_ticket(TICKETS, verify_bearer(token(), now=now), now=now, audience=SERVICE)
    assert issued.issued_at == NOW + timedelta(seconds=5)
    assert (issued.expires_at, issued.expires_in) == (NOW + timedelta(seconds=65), 60)


def test_a_ticket_never_outlives_the_token_it_was_asked_with() -> None:
    short = token(ttl=timedelta(seconds=30))
    now = NOW + timedelta(seconds=10)
    issued = issue_stream_ticket(TICKETS, verify_bearer(short, now=now), now=now, audience=SERVICE)
    assert (issued.expires_at, issued.expires_in) == (NOW + timedelta(seconds=30), 20)
    # a token already past its end (accepted within the leeway): the ticket ends with it, and says 0 seconds
    late = NOW + timedelta(seconds=40)
    issued = issue_stream_ticket(TICKETS, verify_bearer(short, now=late), now=late, audience=SERVICE)
    assert (issued.expires_at, issued.expires_in) == (NOW + timedelta(seconds=30), 0)
    with pytest.raises(AuthError, match="expired"):
        verify_ticket(issued.ticket, now=NOW + timedelta(seconds=30) + LEEWAY + timedelta(seconds=1))


def test_an_expired_ticket_is_refused() -> None:
    ticket = ticket_for(token())
    end = NOW + timedelta(seconds=60) + LEEWAY  # the same skew leeway as every token
    assert verify_ticket(ticket, now=end).role is Role.SUPERVISOR
    with pytest.raises(AuthError, match="expired"):
        verify_ticket(ticket, now=end + timedelta(seconds=1))


def test_a_ticket_is_not_a_bearer_token() -> None:
    ticket = ticket_for(token())
    # signed with the service's ticket key (HMAC), which bearer verification never takes: refused, saying what it is
    with pytest.raises(AuthError, match="a stream ticket is not a bearer token"):
        verify_token(VERIFIER, ticket, now=NOW)
    # and even a ticket's claims signed by the issuer itself are no bearer token
    claims = jwt.decode(ticket, TICKETS.secret, algorithms=["HS256"], audience=SERVICE, options={"verify_exp": False})
    with pytest.raises(AuthError, match="not a bearer token"):
        verify_bearer(KEY.sign(claims), now=NOW)
    # so a ticket cannot ask for another one either (the ticket route verifies its caller as a bearer token)


def test_the_ticket_key_mints_no_bearer_token() -> None:
    """What a service holds (its ticket key) cannot sign a bearer token any service takes."""
    minted = jwt.encode({"iss": "pingan", "sub": "x", "role": "admin", "iat": int(NOW.timestamp()),
                         "exp": int(NOW.timestamp()) + 60}, TICKETS.secret, algorithm="HS256", headers={"kid": KEY.kid})
    with pytest.raises(AuthError, match="not accepted"):
        verify_token(VERIFIER, minted, now=NOW)


def test_a_bearer_token_is_not_a_ticket() -> None:
    with pytest.raises(AuthError, match="not a stream ticket"):
        verify_ticket(token(), now=NOW, audience=SERVICE)


@pytest.mark.parametrize("use", ["download", 5, ""])
def test_a_token_for_another_use_is_neither(use: object) -> None:
    claims = {"iss": "pingan", "sub": "x", "role": "admin", "iat": int(NOW.timestamp()),
              "exp": int(NOW.timestamp()) + 60, "use": use}
    with pytest.raises(AuthError):
        verify_token(VERIFIER, KEY.sign(claims), now=NOW)
    with pytest.raises(AuthError):
        verify_ticket(jwt.encode(claims, TICKETS.secret, algorithm="HS256"), now=NOW)


def test_forged_and_garbled_tickets_are_refused() -> None:
    caller = verify_bearer(token(), now=NOW)
    # another process's ticket (another replica, or the process before a restart) included: each signs its own
    forged = issue_stream_ticket(OTHER_PROCESS, caller, now=NOW, audience=SERVICE).ticket
    for bad in (forged, "garbled", "", "a.b.c", ticket_for(token())[:-4], token()):
        with pytest.raises(AuthError, match="invalid ticket"):
            verify_ticket(bad, now=NOW)


def test_a_ticket_at_the_end_of_the_calendar_still_answers_a_date() -> None:
    end = datetime(9999, 12, 31, 23, 59, 30, tzinfo=UTC)
    last = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())
    far = KEY.sign({"iss": "pingan", "sub": "x", "role": "admin", "iat": int(end.timestamp()), "exp": last})
    issued = issue_stream_ticket(TICKETS, verify_bearer(far, now=end), now=end, audience=SERVICE)
    assert issued.expires_at == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert issued.expires_in == 29
    assert verify_ticket(issued.ticket, now=end).role is Role.ADMIN


def test_a_ticket_opens_the_streams_of_its_own_service_only() -> None:
    ticket = ticket_for(token())
    assert verify_ticket(ticket, now=NOW, audience=SERVICE).role is Role.SUPERVISOR
    with pytest.raises(AuthError, match=f"a ticket of {SERVICE} opens no stream of patrol"):
        verify_ticket(ticket, now=NOW, audience="patrol")


def test_each_ticket_has_an_id_of_its_own() -> None:
    caller = verify_bearer(token(), now=NOW)
    tickets = [issue_stream_ticket(TICKETS, caller, now=NOW, audience=SERVICE).ticket for _ in range(3)]
    ids = [verify_stream_ticket(TICKETS, t, now=NOW, audience=SERVICE).ticket_id for t in tickets]
    assert len(set(ids)) == 3 and all(ids)


def _ticket_claims(**changes: object) -> str:
    claims: dict[str, object] = {"iss": "pingan", "sub": "x", "role": "admin", "iat": int(NOW.timestamp()),
                                 "exp": int(NOW.timestamp()) + 60, "use": STREAM_TICKET_USE, "aud": SERVICE,
                                 "jti": "0" * 32, **changes}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, TICKETS.secret, algorithm="HS256")


@pytest.mark.parametrize(("changes", "message"), [
    ({"aud": None}, "a ticket of no service opens no stream of alerts"),
    ({"aud": ["alerts"]}, "aud must be a non-empty string"),
    ({"jti": None}, "needs its jti"),
    ({"jti": "x" * 101}, "jti longer than 100"),
])
def test_a_ticket_without_its_service_or_id_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(AuthError, match=message):
        verify_ticket(_ticket_claims(**changes), now=NOW)
    assert verify_ticket(_ticket_claims(), now=NOW).role is Role.ADMIN
