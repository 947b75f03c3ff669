"""patrol's copy of the directory (the shared replica every service runs): each code keeps its newest entry by the
owner's per-code sequence, whatever the order and however often the entries arrive; an entry whose parent comes
later is kept and joins the hierarchy when the parent arrives; an entry from another producer than the owner, or
that is no entry at all, goes to the dead letters and the partition moves on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pingan_shared.clock import FixedClock
from pingan_shared.directory import store
from pingan_shared.events.catalog import DIRECTORY_ENTRY, TOPIC_DIRECTORY
from pingan_shared.events.directory_contracts import DirectoryEntryV1, EntryKind
from pingan_shared.events.envelope import Envelope, new_envelope
from pingan_shared.messaging.outbox import with_sequence
from pingan_stack.testing import SAMPLE_TIME, read_topic

from .conftest import Patrol


def entry(code: str, name: str, kind: EntryKind, parent: str | None, sequence: int, *,
          producer: str = "roster") -> Envelope:
    payload = DirectoryEntryV1(code=code, kind=kind, name=name, parent=parent)
    return with_sequence(new_envelope(type=DIRECTORY_ENTRY, schema_version=1, payload=payload, key=code,
                                      producer=producer, occurred_at=SAMPLE_TIME), sequence)


async def test_entries_keep_the_newest_whatever_the_order_and_the_repeats(
    patrol_factory: Callable[..., Awaitable[Patrol]],
) -> None:
    p = await patrol_factory(FixedClock(SAMPLE_TIME))
    topic = p.topic(TOPIC_DIRECTORY)
    village_v1 = entry("V1", "旧村", EntryKind.VILLAGE, "T1", 1)
    village_v2 = entry("V1", "新村", EntryKind.VILLAGE, "T1", 2)
    town = entry("T1", "新镇", EntryKind.TOWNSHIP, "C1", 1)
    city = entry("C1", "新市", EntryKind.CITY, None, 1)
    impostor = entry("T1", "冒名镇", EntryKind.TOWNSHIP, "C1", 9, producer="patrol")
    # the village's second state before its first, both twice, the village before its township and city
    await p.publish([(topic, village_v2), (topic, village_v1), (topic, village_v2), (topic, village_v1),
                     (topic, impostor), (topic, town), (topic, city), (topic, town)])

    async def caught_up() -> bool:
        async with p.db() as conn:
            return await conn.fetchval(
                "SELECT count(*) FROM directory_entries WHERE code = ANY($1::text[])", ["V1", "T1", "C1"]) == 3
    await p.until(caught_up, "the three codes kept")
    await read_topic(p.platform.kafka_bootstrap_servers, p.topic("deadletter.patrol"), expected=1)
    async with p.db() as conn:
        village = await store.get(conn, "V1")
        assert village is not None and village.name == "新村"  # sequence 2 kept, the late 1 ignored
        assert (await store.get(conn, "T1")).name == "新镇"  # type: ignore[union-attr]  # not the impostor's
        assert [e.code for e in await store.lineage(conn, "V1")] == ["V1", "T1", "C1"]
        assert await store.subtree(conn, "C1") == ["C1", "T1", "V1"]
        versions = dict(await conn.fetch("SELECT code, version FROM directory_entries WHERE code = ANY($1::text[])",
                                         ["V1", "T1", "C1"]))
    assert versions == {"V1": 2, "T1": 1, "C1": 1}
