"""The short-lived tokens the console calls the services with, one per call, for the signed-in person.

The console is an issuer (DESIGN §6): it holds the Ed25519 signing key (``PINGAN_AUTH_SIGNING_KEY_FILE``) and the
services verify with its public half, which it serves at ``/.well-known/jwks.json``. A token names the person as the
services know them (``Account.subject``) with their role and scope, and lives a few minutes: the services' clock is
the time it is issued at, so under a compressed-time demo its validity is stretched by the clock scale, as
``pingan token issue`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from console.domain.accounts import Account
from pingan_shared.auth import SigningKey, issue_token
from pingan_shared.clock import Clock


@dataclass(frozen=True)
class TokenMinter:
    key: SigningKey
    clock: Clock  # the services' clock (``runtime.clock``), scaled in a compressed-time demo
    ttl: timedelta  # on that clock
    audience: str | None = None  # PINGAN_AUTH_AUDIENCE, when the deployment has the services require one

    def for_account(self, account: Account) -> str:
        scope = account.scope
        return issue_token(self.key, role=account.role, subject=account.subject, issued_at=self.clock.now(),
                           ttl=self.ttl, team_id=scope.team_id, unit_id=scope.unit_id, scope=scope.scope,
                           audience=self.audience)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return self.key.jwks()
