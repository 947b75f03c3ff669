"""The sample city's directory (瑞安市: ``directory/ruian.csv``, what ``pingan directory import --sample`` loads) and
the test city's (the sample, the patrol teams the tests name: ``directory/test-teams.csv``, and the 211 units they
register: ``directory/test-units.csv``), as rows, and written
straight into a service's copy of the directory — for tests of what a service does with codes, not of how the copy
is kept (``pingan_shared.directory.replica`` has its own)."""

from __future__ import annotations

import csv
import io
from importlib import resources

import asyncpg

SAMPLE = "directory/ruian.csv"
TEST_TEAMS = "directory/test-teams.csv"
TEST_UNITS = "directory/test-units.csv"
TEST_CITY = (SAMPLE, TEST_TEAMS, TEST_UNITS)


def sample_csv() -> bytes:
    """The sample city's directory CSV as ``pingan directory import --sample`` sends it."""
    return resources.files("pingan_stack").joinpath(SAMPLE).read_bytes()


def rows(*names: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for name in names:
        text = resources.files("pingan_stack").joinpath(name).read_text(encoding="utf-8")
        out.extend(csv.DictReader(io.StringIO(text)))
    return out


async def seed_directory(conn: asyncpg.Connection, *names: str) -> None:
    """The entries of ``names`` (default: the test city) in ``conn``'s database, as if each had arrived from the
    owner as its first version."""
    await conn.executemany(
        "INSERT INTO directory_entries (code, kind, name, parent, latitude, longitude, version) "
        "VALUES ($1, $2, $3, $4, $5, $6, 1) ON CONFLICT (code) DO NOTHING",
        [(r["code"], r["kind"], r["name"], r["parent"] or None, float(r["latitude"]) if r["latitude"] else None,
          float(r["longitude"]) if r["longitude"] else None) for r in rows(*(names or TEST_CITY))])
