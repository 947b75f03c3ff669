"""Every service's local copy of the directory (DESIGN.md §3): an inbox consumer of ``directory.entries`` that
keeps each code's newest entry. The owner's per-code sequence orders them, so a redelivered or overtaken entry
changes nothing; an entry whose parent has not arrived yet is kept all the same (the parent comes, and the
hierarchy is read at query time, not copied into each entry)."""

from __future__ import annotations

import asyncpg
from pydantic import BaseModel

from pingan_shared.directory import store
from pingan_shared.directory.entries import Entry
from pingan_shared.events.catalog import DIRECTORY_ENTRY
from pingan_shared.events.directory_contracts import DirectoryEntryV1
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.consumer import Handler, HandlerRejected

# The directory's one owner (DESIGN.md §3): roster, which registers the organisations and members already.
OWNER = "roster"


async def keep_entry(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
    if not isinstance(payload, DirectoryEntryV1):
        raise HandlerRejected(f"not a directory entry: {type(payload).__name__}")
    if envelope.producer != OWNER:
        raise HandlerRejected(f"directory entries come from {OWNER} only, not {envelope.producer!r}")
    # an unsequenced entry (made outside an outbox) is kept only where the code is new: it cannot be ordered
    await store.put_if_newer(conn, Entry.from_payload(payload), version=envelope.sequence or 0)


# What a service's consumer group adds to its handlers to keep the copy: one of its existing groups reads the
# directory's topic too (the one whose events name places or teams), rather than a group of its own — a consumer
# more in every replica (its group join, its fetch loop) for a topic that changes a few times a year.
REPLICA_HANDLERS: dict[str, Handler] = {DIRECTORY_ENTRY: keep_entry}
