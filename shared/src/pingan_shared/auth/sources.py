"""Where a service's public keys come from: given once (a JWKS inline or in a file), or fetched from the issuer's URL.

A fetched JWKS is cached. It is fetched again when a token names a kid the cache lacks (the issuer rotated its
key), at most once per ``refetch_seconds`` so a stream of tokens with made-up kids cannot turn every request into a
fetch, and when the cache is older than ``max_age_seconds`` (so a key the issuer withdrew stops verifying). A fetch
runs in a worker thread, never on the event loop, and one at a time: requests arriving meanwhile wait for its
result. A failed fetch keeps the keys the service had (logged), so the issuer being away for a moment does not
turn away every caller whose token it signed before; and the next fetch may come sooner (``failure_retry_seconds``),
so an issuer not up yet when the first token came costs seconds, not the whole interval.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Protocol

from pingan_shared.auth.keys import KeySet, PublicKey, UnusableKey
from pingan_shared.logs import get_logger

log = get_logger(__name__)

# A JWKS is a few keys: anything much larger is not one, and is not read into memory whole.
MAX_JWKS_BYTES = 1_000_000


class KeySource(Protocol):
    def known(self, kid: str) -> PublicKey | None:
        """The key named ``kid`` among those held now, without fetching."""
        ...

    async def lookup(self, kid: str) -> PublicKey | None:
        """The key named ``kid``, fetching the keys again if this source can and may."""
        ...


@dataclass(frozen=True)
class StaticKeys:
    """Keys given once, from the environment or a file: a new key means a restart with the new JWKS."""

    keys: KeySet

    def known(self, kid: str) -> PublicKey | None:
        return self.keys.get(kid)

    async def lookup(self, kid: str) -> PublicKey | None:
        return self.keys.get(kid)


@dataclass
class RemoteKeys:
    """The JWKS published at ``url`` (the console's ``/.well-known/jwks.json``, or an OpenID Connect provider's
    ``jwks_uri``), cached."""

    url: str
    refetch_seconds: float = 30.0
    max_age_seconds: float = 600.0
    timeout_seconds: float = 5.0
    failure_retry_seconds: float = 5.0
    fetches: int = field(default=0, init=False)  # how many fetches were made (for the logs and the tests)
    _keys: KeySet = field(default_factory=lambda: KeySet({}), init=False)
    _fetched_at: float | None = field(default=None, init=False)
    _attempted_at: float | None = field(default=None, init=False)
    _failed: bool = field(default=False, init=False)
    _lock: asyncio.Lock | None = field(default=None, init=False)

    def known(self, kid: str) -> PublicKey | None:
        return self._keys.get(kid)

    async def lookup(self, kid: str) -> PublicKey | None:
        key = self._keys.get(kid)
        if (key is None or self._stale()) and self._may_fetch():
            await self.refresh()
            key = self._keys.get(kid)
        return key

    def _stale(self) -> bool:
        return self._fetched_at is None or time.monotonic() - self._fetched_at > self.max_age_seconds

    def _may_fetch(self) -> bool:
        interval = min(self.refetch_seconds, self.failure_retry_seconds) if self._failed else self.refetch_seconds
        return self._attempted_at is None or time.monotonic() - self._attempted_at >= interval

    async def refresh(self) -> None:
        """Fetch the JWKS now (one fetch at a time: who waited for a fetch in progress takes its result)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        attempted = self._attempted_at
        async with self._lock:
            if self._attempted_at != attempted:  # another request fetched while this one waited
                return
            self._attempted_at = time.monotonic()
            self.fetches += 1
            skipped: list[str] = []
            try:
                body = await asyncio.to_thread(self._fetch)
                keys = KeySet.from_json(body, skipped=skipped)
            except (OSError, UnusableKey) as exc:  # urllib's errors are OSErrors
                self._failed = True
                log.warning("JWKS fetch failed; keeping the keys held", url=self.url, error=str(exc),
                            kids=sorted(self._keys.keys))
                return
            self._failed = False
            if skipped:
                log.warning("JWKS keys left out", url=self.url, reasons=skipped)
            if sorted(keys.keys) != sorted(self._keys.keys):
                log.info("JWKS keys", url=self.url, kids=sorted(keys.keys))
            self._keys = keys
            self._fetched_at = time.monotonic()

    def _fetch(self) -> bytes:
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # http(s): settings check
            body: bytes = response.read(MAX_JWKS_BYTES + 1)
        if len(body) > MAX_JWKS_BYTES:
            raise UnusableKey(f"the JWKS at {self.url} is larger than {MAX_JWKS_BYTES} bytes")
        return body
