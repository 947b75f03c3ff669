"""Bearer tokens carrying a role and its scope, signed by one issuer and verified by every service with its public key.

The issuer (the console, ``pingan token issue``) holds an Ed25519 ``SigningKey`` (``PINGAN_AUTH_SIGNING_KEY_FILE``)
and mints with ``issue_token``; each service holds only a ``TokenVerifier`` built from the issuer's public keys (a
JWKS: ``PINGAN_AUTH_JWKS`` / ``_FILE`` / ``_URL``), so no service can mint a token. An outside OpenID Connect
provider can be the issuer instead (``PINGAN_AUTH_ISSUER``, ``PINGAN_AUTH_AUDIENCE`` and a ``ClaimMapping``).
Stream tickets (``issue_stream_ticket``) are each service's own, signed with a per-process key: docs/auth.md.

Modules: ``claims`` (roles, principal, claim checks), ``keys`` (signing key, JWKS), ``issuing``, ``sources`` (where a
service's public keys come from), ``verifier``, ``tickets``.
"""

from pingan_shared.auth.claims import (
    ISSUER,
    LEEWAY,
    AuthError,
    ClaimMapping,
    Principal,
    Role,
    VerifiedToken,
)
from pingan_shared.auth.issuing import issue_token, signing_key_from_settings
from pingan_shared.auth.keys import ALLOWED_ALGORITHMS, SIGNING_ALGORITHM, KeySet, PublicKey, SigningKey, UnusableKey
from pingan_shared.auth.sources import KeySource, RemoteKeys, StaticKeys
from pingan_shared.auth.tickets import (
    STREAM_TICKET_TTL,
    StreamTicket,
    TicketKey,
    VerifiedTicket,
    issue_stream_ticket,
    ticket_audience,
    ticket_key_id,
    verify_stream_ticket,
)
from pingan_shared.auth.verifier import (
    STREAM_TICKET_USE,
    AuthConfigurationError,
    TokenVerifier,
    jwks_json,
    verify_token,
)

__all__ = [
    "ALLOWED_ALGORITHMS",
    "ISSUER",
    "LEEWAY",
    "SIGNING_ALGORITHM",
    "STREAM_TICKET_TTL",
    "STREAM_TICKET_USE",
    "AuthConfigurationError",
    "AuthError",
    "ClaimMapping",
    "KeySet",
    "KeySource",
    "Principal",
    "PublicKey",
    "RemoteKeys",
    "Role",
    "SigningKey",
    "StaticKeys",
    "StreamTicket",
    "TicketKey",
    "TokenVerifier",
    "UnusableKey",
    "VerifiedTicket",
    "VerifiedToken",
    "issue_stream_ticket",
    "issue_token",
    "jwks_json",
    "signing_key_from_settings",
    "ticket_audience",
    "ticket_key_id",
    "verify_stream_ticket",
    "verify_token",
]
