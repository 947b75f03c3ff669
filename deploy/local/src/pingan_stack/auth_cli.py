"""`pingan auth`: the token issuer's signing key, and the tokens the commands themselves send.

The issuer's Ed25519 key is the file ``PINGAN_AUTH_SIGNING_KEY_FILE`` names, else the one `pingan up` makes on its
first run (``.pingan/auth/signing-key.pem``). ``pingan auth keygen --out PATH`` makes one for compose or Kubernetes
and prints its public JWKS (what the services verify with); ``pingan auth jwks`` prints the JWKS of the configured
key. ``cli_token`` mints the short-lived tokens commands such as ``pingan roster import-members`` send when not given
one, with the same key, dated by the services' clock.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from pingan_shared.auth import Role, SigningKey, UnusableKey, issue_token, signing_key_from_settings
from pingan_shared.clock import clock_from_settings
from pingan_shared.settings import PlatformSettings, explain

# Where `pingan up` keeps the key under its data directory, and so where the commands look without the setting
KEY_FILE_IN_DATA_DIR = Path("auth") / "signing-key.pem"
DEFAULT_DATA_DIR = Path(".pingan")

auth_app = typer.Typer(help="The token issuer's signing key (Ed25519) and its public JWKS.", no_args_is_help=True)


def default_key_file(data_dir: Path = DEFAULT_DATA_DIR) -> Path:
    return data_dir / KEY_FILE_IN_DATA_DIR


def configured_signing_key(settings: PlatformSettings) -> SigningKey:
    """The issuer's key as the commands find it, or a configuration error (exit 2) saying where to get one."""
    try:
        return signing_key_from_settings(settings, default=default_key_file())
    except UnusableKey as exc:
        typer.echo(f"configuration error: {exc} (PINGAN_AUTH_SIGNING_KEY_FILE, else {default_key_file()}, "
                   "which `pingan up` makes on its first run)", err=True)
        raise typer.Exit(2) from exc


def platform_settings() -> PlatformSettings:
    try:
        return PlatformSettings()
    except ValidationError as exc:
        typer.echo(f"configuration error: {explain(exc)}", err=True)
        raise typer.Exit(2) from exc


def cli_token(role: Role, subject: str = "pingan-cli") -> str:
    """A token of ``role`` for one command's calls, signed with the issuer's key and dated by the services' clock
    (PINGAN_CLOCK_SCALE / PINGAN_CLOCK_EPOCH: under compressed time a wall-clock ``iat`` would lie far in the
    services' past). Its hour of validity is an hour of real time."""
    settings = platform_settings()
    return issue_token(configured_signing_key(settings), role=role, subject=subject,
                       issued_at=clock_from_settings(settings).now(),
                       ttl=timedelta(hours=settings.pingan_clock_scale), audience=settings.pingan_auth_audience)


@auth_app.command("keygen")
def keygen(
    out: Annotated[Path, typer.Option(help="where to write the private key (PEM, mode 0600)")],
    force: Annotated[bool, typer.Option(help="replace a key already there (every token it signed stops "
                                             "working once the services have the new JWKS)")] = False,
) -> None:
    """Make a signing key for the issuer and print its public JWKS (for PINGAN_AUTH_JWKS or a JWKS file)."""
    if out.exists() and not force:
        try:
            key = SigningKey.load(out)
        except UnusableKey as exc:
            typer.echo(f"pingan auth keygen: {exc} (--force replaces it)", err=True)
            raise typer.Exit(2) from exc
        typer.echo(f"{out} exists: kept, its JWKS is below (--force makes a new key)", err=True)
    else:
        key = SigningKey.generate()
        key.save(out)
        typer.echo(f"wrote {out} (kid {key.kid})", err=True)
    typer.echo(json.dumps(key.jwks(), separators=(",", ":")))


@auth_app.command("jwks")
def jwks() -> None:
    """Print the public JWKS of the configured signing key (PINGAN_AUTH_SIGNING_KEY_FILE, else .pingan's)."""
    typer.echo(json.dumps(configured_signing_key(platform_settings()).jwks(), separators=(",", ":")))
