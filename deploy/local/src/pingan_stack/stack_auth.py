"""The embedded stack's token issuer key: made on `pingan up`'s first run, reused after, public half to the services.

`pingan up` signs nothing itself. It finds the issuer's key (``PINGAN_AUTH_SIGNING_KEY_FILE`` when set, else
``<data dir>/auth/signing-key.pem``, made there on the first run, mode 0600) and hands each process what its part
needs: every service the public JWKS inline (``PINGAN_AUTH_JWKS``), and only a process that issues tokens (the
console: ``ServiceSpec.issues_tokens``) the key file's path. A key source left in the shell's environment
(``PINGAN_AUTH_JWKS_FILE`` / ``_URL``) is blanked for the processes, so they all verify with this one key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pingan_shared.auth import SigningKey, jwks_json
from pingan_stack.auth_cli import KEY_FILE_IN_DATA_DIR


@dataclass(frozen=True)
class StackKey:
    key: SigningKey
    path: Path
    origin: str  # how it was found, for the line `pingan up` prints

    def describe(self) -> str:
        return f"{self.path} (kid {self.key.kid[:12]}…, {self.origin})"

    def process_env(self, *, issues_tokens: bool) -> dict[str, str]:
        """What a process of the stack gets: the JWKS to verify with, and the key file only if it issues."""
        return {"PINGAN_AUTH_JWKS": jwks_json(self.key.jwks()), "PINGAN_AUTH_JWKS_FILE": "",
                "PINGAN_AUTH_JWKS_URL": "",
                "PINGAN_AUTH_SIGNING_KEY_FILE": str(self.path.resolve()) if issues_tokens else ""}


def stack_key(data_dir: Path, environ: Mapping[str, str] = os.environ) -> StackKey:
    """The issuer's key for the stack; ``UnusableKey`` for a key file that is named but unreadable or not a key
    (it is never replaced: tokens already handed out were signed with it)."""
    configured = environ.get("PINGAN_AUTH_SIGNING_KEY_FILE", "").strip()
    if configured:
        return StackKey(SigningKey.load(configured), Path(configured), "from PINGAN_AUTH_SIGNING_KEY_FILE")
    path = data_dir / KEY_FILE_IN_DATA_DIR
    if path.exists():
        return StackKey(SigningKey.load(path), path, "reused")
    key = SigningKey.generate()
    key.save(path)
    return StackKey(key, path, "made now")

