"""Housekeeping against a real database: rows past their retention go, in batches; nothing else does."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from pingan_shared.messaging.housekeeping import Housekeeper, Purged
from pingan_shared.messaging.outbox import enqueue
from pingan_stack.testing import sample_factory, sample_scan_event


async def test_sent_outbox_and_old_inbox_rows_go_and_nothing_else(pool: asyncpg.Pool) -> None:
    factory = sample_factory("hk.")
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [sample_scan_event(factory, "一队", n) for n in range(25)])
    # 10 sent long ago, 5 sent just now, 10 never sent (those must stay whatever their age)
    await pool.execute("UPDATE outbox SET sent_at = now() - interval '9 days', "
                       "first_sent_at = now() - interval '9 days' "
                       "WHERE id <= 10")
    await pool.execute("UPDATE outbox SET sent_at = now(), first_sent_at = now() WHERE id BETWEEN 11 AND 15")
    await pool.execute("UPDATE outbox SET created_at = now() - interval '90 days' WHERE sent_at IS NULL")
    await pool.execute(
        """
        INSERT INTO inbox (message_id, consumer_group, event_type, topic, partition, "offset", outcome, handled_at)
        SELECT 'm-' || n, 'roster.attendance', 'patrol.scan-accepted', 'patrol.scans', 0, n, 'handled',
               now() - CASE WHEN n < 23 THEN interval '40 days' ELSE interval '1 day' END
        FROM generate_series(0, 29) AS n
        """
    )
    housekeeper = Housekeeper(pool, outbox_retention=timedelta(days=7), inbox_retention=timedelta(days=35),
                              batch_size=4)  # several batches per table
    assert await housekeeper.purge() == Purged(outbox=10, inbox=23)
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 10
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 15
    assert await pool.fetchval("SELECT min(\"offset\") FROM inbox") == 23
    assert await housekeeper.purge() == Purged(outbox=0, inbox=0)  # a second round finds nothing
