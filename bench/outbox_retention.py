"""What the kept outbox rows cost (docs/broker-loss.md): the relay's throughput and the outbox's size.

Sent outbox rows are kept (``<PREFIX>OUTBOX_RETENTION_HOURS``, 168) so that the relay can publish them again when
the broker lost what it acknowledged (the embedded broker after any restart), and the relay records per partition
what the broker acknowledged (one upsert per batch). Printed, each against a baseline of the same run:

* the relay's rate (rows published and marked sent per second, batches of 500) recording the acknowledgements,
  against the relay without them (the relay before this mechanism), on an outbox purged at once (only the rows to
  publish in it);
* the same with the kept rows of earlier publishing in the outbox (``--kept``), against purged at once;
* the outbox's size with those rows kept, against purged at once (deleted and vacuumed), and the bytes per kept row,
  projected to Wenzhou's night patrol load (17,644 members scanning about every five minutes, 6 hours a night);
* after a restart of the broker (everything lost), the rate of publishing the kept rows again, against the first
  publishing of the same rows.

    python bench/outbox_retention.py [--rows 20000] [--kept 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import asyncpg
from baseline import ratio_spread, run_benchmark, say, servers, spread

from pingan_shared.db.migrations import apply_migrations, platform_migrations
from pingan_shared.db.pool import create_pool
from pingan_shared.messaging import broker_loss
from pingan_shared.messaging.kafka import build_producer, ensure_topics
from pingan_shared.messaging.outbox import OutboxRelay, enqueue
from pingan_shared.metrics import Metrics
from pingan_stack.embedded import EmbeddedKafka
from pingan_stack.testing import sample_factory, sample_scan_event

TEAMS = 200  # keys: scans are keyed by team
WENZHOU_SCANS_A_NIGHT = 17_644 / 300 * 6 * 3600  # members ÷ a scan every 5 min × 6 hours of night patrol


@contextlib.contextmanager
def without_acknowledgements() -> Iterator[None]:
    """The relay as it was before it recorded what the broker acknowledged."""
    async def record_nothing(*_: object) -> list[broker_loss.Partition]:
        return []

    with mock.patch.object(broker_loss, "record", record_nothing):
        yield


async def fill(pool: asyncpg.Pool, prefix: str, rows: int) -> None:
    factory = sample_factory(prefix)
    for start in range(0, rows, 500):
        items = [sample_scan_event(factory, f"team-{i % TEAMS}", i) for i in range(start, min(start + 500, rows))]
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, items)


async def publish_all(pool: asyncpg.Pool, bootstrap: str) -> float:
    """Rows published per second by a relay until the outbox has no unsent row."""
    producer = build_producer(bootstrap, client_id="bench-relay")
    await producer.start()
    try:
        relay = OutboxRelay(pool, producer, Metrics("bench"), batch_size=500)
        await relay.publish_batch()  # its first batch asks the broker's end offsets: not part of the rate
        unsent = await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        started = time.perf_counter()
        while await relay.publish_batch():
            pass
        return float(unsent) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def fresh_rows(pool: asyncpg.Pool, bootstrap: str, rows: int) -> str:
    prefix = f"b{uuid.uuid4().hex[:8]}."
    await ensure_topics(bootstrap, [f"{prefix}patrol.scans"], partitions=6, replication_factor=1)
    await fill(pool, prefix, rows)
    return prefix


async def purge_at_once(pool: asyncpg.Pool) -> None:
    await pool.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL")
    await pool.execute("VACUUM FULL outbox")


async def outbox_bytes(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT pg_total_relation_size('outbox')"))


async def relay_rates(pool: asyncpg.Pool, bootstrap: str, rows: int, run: int) -> tuple[float, float]:
    """(without acknowledgements, with them) on an outbox purged at once, in alternating order over the runs."""
    rates: dict[bool, float] = {}
    for acknowledging in ((False, True) if run % 2 else (True, False)):
        await purge_at_once(pool)
        await fresh_rows(pool, bootstrap, rows)
        if acknowledging:
            rates[True] = await publish_all(pool, bootstrap)
        else:
            with without_acknowledgements():
                rates[False] = await publish_all(pool, bootstrap)
    return rates[False], rates[True]


async def measure(args: argparse.Namespace, workdir: Path) -> None:
    async with servers(workdir) as (postgres, kafka):
        pool = await create_pool(postgres.url, max_size=4)
        try:
            async with pool.acquire() as conn:
                await apply_migrations(conn, platform_migrations())
            await measure_with(pool, kafka, args)
        finally:
            await pool.close()


async def measure_with(pool: asyncpg.Pool, kafka: EmbeddedKafka, args: argparse.Namespace) -> None:
    bootstrap = kafka.bootstrap_servers
    say(f"{args.rows:,} scan events per measure, batches of 500, {TEAMS} keys, 6 partitions")
    plain, acknowledged = [], []
    for run in range(1, args.runs + 1):
        without, with_acks = await relay_rates(pool, bootstrap, args.rows, run)
        plain.append(without)
        acknowledged.append(with_acks)
        say(f"run {run}: relay {without:,.0f} rows/s without recording acknowledgements, {with_acks:,.0f} with")
    say(f"relay, purged at once, no acknowledgements (baseline)   rows/s  {spread(plain)}")
    say(f"relay, purged at once, acknowledgements recorded        rows/s  {spread(acknowledged)}")
    say(f"  ratio acknowledgements ÷ baseline                              "
        f"{ratio_spread([a / p for a, p in zip(acknowledged, plain, strict=True)])}")

    # the kept rows of earlier publishing in the outbox, as with the retention on
    await purge_at_once(pool)
    purged_bytes = await outbox_bytes(pool)
    await fresh_rows(pool, bootstrap, args.kept)
    first = await publish_all(pool, bootstrap)
    kept_bytes = await outbox_bytes(pool)
    kept_rates: list[float] = []
    for _ in range(args.runs):
        await fresh_rows(pool, bootstrap, args.rows)
        kept_rates.append(await publish_all(pool, bootstrap))
        await pool.execute("DELETE FROM outbox WHERE id > (SELECT max(id) FROM outbox) - $1", args.rows)
    say(f"relay, {args.kept:,} kept rows in the outbox              rows/s  {spread(kept_rates)}")
    say(f"  ratio kept ÷ purged at once (acknowledgements recorded)        "
        f"{ratio_spread([k / statistics.median(acknowledged) for k in kept_rates])}")
    per_row = (kept_bytes - purged_bytes) / args.kept
    say(f"outbox size: {kept_bytes / 2**20:,.1f} MiB with {args.kept:,} kept rows, {purged_bytes / 2**20:,.2f} MiB "
        f"purged at once (ratio {kept_bytes / purged_bytes:,.0f}×): {per_row:,.0f} bytes per kept row (table, "
        "indexes, TOAST)")
    night = WENZHOU_SCANS_A_NIGHT * per_row
    say(f"  at Wenzhou's night patrol load ({WENZHOU_SCANS_A_NIGHT / 1e6:.2f} M scan events a night): "
        f"{night / 2**30:,.1f} GiB kept per night; the 168 h retention holds 7 nights, "
        f"{7 * night / 2**30:,.1f} GiB")

    # everything lost: the kept rows published again
    kafka.stop()
    kafka.start()
    topics = [row["topic"] for row in await pool.fetch("SELECT DISTINCT topic FROM outbox")]
    await ensure_topics(bootstrap, topics, partitions=6, replication_factor=1)
    producer = build_producer(bootstrap, client_id="bench-relay")
    await producer.start()
    try:
        relay = OutboxRelay(pool, producer, Metrics("bench"), batch_size=500)
        started = time.perf_counter()  # the relay's first batch finds the loss and puts the kept rows back
        while await relay.publish_batch():
            pass
        elapsed = time.perf_counter() - started
        put_back = int(await pool.fetchval("SELECT coalesce(sum(republished), 0) FROM broker_losses"))
        again = put_back / elapsed
    finally:
        await producer.stop()
    say(f"after a broker restart: {put_back:,} kept rows found lost and published again at {again:,.0f} rows/s "
        f"(first publishing of the kept rows: {first:,.0f} rows/s; ratio {again / first:.3f})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000, help="rows each relay rate is measured on")
    parser.add_argument("--kept", type=int, default=100_000, help="kept (sent) rows in the outbox")
    parser.add_argument("--runs", type=int, default=5)
    run_benchmark(measure, parser.parse_args(argv))


if __name__ == "__main__":
    main()
