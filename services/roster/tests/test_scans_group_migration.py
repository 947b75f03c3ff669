"""Migration 0005 renames the scan consumer's group (roster.attendance → roster.scans) in the inbox, so the new
group, which reads the topic from its earliest retained offset, finds every scan the old group handled already
handled and tallies none of them twice. A deployment's topic prefix stays in front of the name."""

from __future__ import annotations

import asyncpg

from pingan_shared.db.migrations import apply_migrations, load_migrations, platform_migrations
from roster.consumers import SCANS_GROUP


async def test_the_old_groups_inbox_rows_carry_over_to_the_new_name(database_url: str) -> None:
    migrations = [*platform_migrations(), *load_migrations("roster", "roster")]
    before = [m for m in migrations if not (m.component == "roster" and m.version >= 5)]
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn, before)
        await conn.executemany(
            "INSERT INTO inbox (message_id, consumer_group, event_type, topic, partition, \"offset\", outcome)"
            " VALUES ($1, $2, 'patrol.scan-accepted', 'patrol.scans', 0, $3, 'handled')",
            [("m-1", "roster.attendance", 1), ("m-2", "staging.roster.attendance", 2), ("m-3", "other.group", 3)])
        await apply_migrations(conn, migrations)
        groups = {r["message_id"]: r["consumer_group"] for r in await conn.fetch("SELECT * FROM inbox")}
    finally:
        await conn.close()
    assert SCANS_GROUP == "roster.scans"
    assert groups == {"m-1": "roster.scans", "m-2": "staging.roster.scans", "m-3": "other.group"}
