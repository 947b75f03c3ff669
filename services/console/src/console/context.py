"""What every use case and page of the console needs, built once in ``bootstrap``: the runtime (database, clock),
settings, real time for sessions and audit (``wall``), the accounts and the sign-in gate, the services' clients and
the evidence photos' store.

Pages get it with ``web.pages.console(request)``; ``web.pages.require`` uses it to find the signed-in person.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.accounts import AccountBook
from console.photos.store import PhotoStore
from console.services import ServiceClients
from console.settings import ConsoleSettings
from console.signin import Gatekeeper
from console.tokens import TokenMinter
from pingan_shared.clock import Clock
from pingan_shared.service_context import ServiceContext


@dataclass(frozen=True, repr=False)
class ConsoleContext(ServiceContext[ConsoleSettings]):
    wall: Clock
    accounts: AccountBook
    gate: Gatekeeper
    services: ServiceClients
    minter: TokenMinter
    photos: PhotoStore  # evidence photos (settings.photo_store: a directory or an S3/MinIO bucket)

    @property
    def cookie_secure(self) -> bool:
        """The session cookie's Secure flag: the setting, else on everywhere but the dev stack (plain http on
        127.0.0.1, where a Secure cookie would never come back)."""
        if self.settings.cookie_secure is not None:
            return self.settings.cookie_secure
        return self.runtime.platform.pingan_env != "dev"
