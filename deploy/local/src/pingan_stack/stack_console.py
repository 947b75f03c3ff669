"""The console's part of `pingan up`: what its process is told (where the four services are, where photos go) and,
on the embedded stack, the demo accounts printed after its address."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path

from pingan_stack.demo_accounts import FILE_IN_DATA_DIR, demo_passwords, describe, seed_demo_accounts
from pingan_stack.topology import SERVICES


def console_env(service_ports: Mapping[str, int], data_dir: Path) -> dict[str, str]:
    """The console's own settings beside its port and database: the services' addresses (the names every operator
    command reads too) and its photo store, a directory in the data directory."""
    env = {f"{spec.name.upper()}_URL": f"http://127.0.0.1:{service_ports[spec.name]}" for spec in SERVICES}
    env["CONSOLE_PHOTO_STORE"] = f"file:{(data_dir / 'photos').resolve()}"
    return env


def seed_and_print(say: Callable[[str], None], console_database_url: str, data_dir: Path) -> None:
    """Make the demo accounts the console's database lacks and print every one with its password."""
    passwords = demo_passwords(data_dir)
    created = asyncio.run(seed_demo_accounts(console_database_url, passwords))
    kept = data_dir / FILE_IN_DATA_DIR
    say(f"  演示账号 demo accounts ({'created now' if created else 'as made on the first run'}; passwords kept in "
        f"{kept}; an account changed since keeps its change):")
    for line in describe(passwords):
        say(line)
