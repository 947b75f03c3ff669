"""Scan ingestion: judge a batch item by item, store and announce the accepted ones atomically.

One bad item never sinks the batch: each gets its own answer. Accepted scans and their
``patrol.scan-accepted`` events are written in one transaction (the outbox rule).

A resent scan is looked up before it is judged: the phone that never got the answer to an upload
accepted at 71:59 into the offline window resends it at 72:01, and must hear ``duplicate`` (or
``conflict``), not ``rejected`` — the rules a new scan must pass (age, skew, checkpoint) were
passed when it was stored. Only the team check comes first: a device learns nothing about another
team's scan ids.

Each accepted scan keeps its facts (``UploadFacts``: the device that sent it, the upload's ``sent_at`` and the
clock offset measured from it, the corrected time) in the same one INSERT: nothing is added to this
transaction for them. The anti-fraud rules run later, in the scans consumer (``flags.flag_scans``), never here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import ValidationError

from patrol.domain.checkpoints import Checkpoint
from patrol.domain.scans import (
    FieldError,
    Outcome,
    ScanIn,
    ScanPolicy,
    UploadFacts,
    fingerprint,
    judge_scan,
    speaks_for_its_team,
)
from patrol.store import checkpoints as store_checkpoints
from patrol.store import scans as store_scans
from pingan_shared.events.catalog import SCAN_ACCEPTED
from pingan_shared.events.contracts import ScanAcceptedV2
from pingan_shared.events.factory import EventFactory
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.text import echoable


@dataclass(frozen=True)
class ItemResult:
    index: int
    scan_id: str | None
    status: Outcome
    errors: list[FieldError] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    index: int
    scan: ScanIn
    fingerprint: str
    checkpoint: Checkpoint
    corrected_time: datetime


def _parse(index: int, raw: Any) -> ScanIn | ItemResult:
    scan_id = raw.get("scan_id") if isinstance(raw, dict) else None
    try:
        return ScanIn.model_validate(raw)
    except ValidationError as exc:
        errors = [
            FieldError(".".join(echoable(str(p)) for p in e["loc"]) or "(item)", e["msg"]) for e in exc.errors()
        ]
        return ItemResult(index, echoable(scan_id) if isinstance(scan_id, str) else None, Outcome.REJECTED, errors)


async def ingest_scans(
    conn: asyncpg.Connection,
    raw_items: Sequence[Any],
    *,
    token_team: str,
    upload: UploadFacts,
    policy: ScanPolicy,
    events: EventFactory,
    correlation_id: UUID | None = None,
) -> list[ItemResult]:
    """Judge, store and announce; ``correlation_id`` (the upload's request) goes on every event."""
    now = upload.received_at
    results: dict[int, ItemResult] = {}
    parsed: list[tuple[int, ScanIn]] = []
    for index, raw in enumerate(raw_items):
        outcome = _parse(index, raw)
        if isinstance(outcome, ItemResult):
            results[index] = outcome
        else:
            parsed.append((index, outcome))

    by_id, by_tag = await store_checkpoints.find_checkpoints(
        conn, (s.checkpoint_id for _, s in parsed if s.checkpoint_id),
        (s.tag for _, s in parsed if s.tag),
    )
    candidates: list[_Candidate] = []
    first_in_batch: dict[tuple[str, str], str] = {}
    refused: list[tuple[int, ScanIn, str, list[FieldError]]] = []
    for index, scan in parsed:
        digest = fingerprint(scan)
        key = (scan.team_id, scan.scan_id)
        checkpoint = by_id.get(scan.checkpoint_id) if scan.checkpoint_id else by_tag.get(scan.tag or "")
        corrected = upload.corrected(scan.device_time, policy)
        errors = judge_scan(scan, token_team=token_team, checkpoint=checkpoint, now=now, policy=policy,
                            corrected_time=corrected)
        if errors:
            refused.append((index, scan, digest, errors))
            continue
        assert checkpoint is not None
        if key in first_in_batch:  # the same scan twice in one upload
            results[index] = _repeat(index, scan.scan_id, same=first_in_batch[key] == digest)
            continue
        first_in_batch[key] = digest
        candidates.append(_Candidate(index, scan, digest, checkpoint, corrected))

    # A refused item may be the retry of a scan already stored (its answer lost, now past the offline window or
    # its checkpoint re-tagged): what is stored answers it. Only the token's own team is looked up, and only for
    # refused items — an accepted retry is recognised by the insert itself, below.
    stored = await store_scans.stored_fingerprints(
        conn, {(s.team_id, s.scan_id) for _, s, _, _ in refused if speaks_for_its_team(s, token_team)})
    for index, scan, digest, errors in refused:
        key = (scan.team_id, scan.scan_id)
        results[index] = (_repeat(index, scan.scan_id, same=stored[key] == digest) if key in stored
                          else ItemResult(index, scan.scan_id, Outcome.REJECTED, errors))

    rows, outgoing = [], []
    for candidate in candidates:
        row, message = _accept(candidate, upload, events, correlation_id)
        rows.append(row)
        outgoing.append(message)
    inserted = await store_scans.insert_scans(conn, rows)
    already = await store_scans.stored_fingerprints(
        conn, ((r.team_id, r.scan_id) for r in rows if (r.team_id, r.scan_id) not in inserted)
    )
    # last, so the key's sequence counter stays locked (serialising this team's writers) only until the commit
    await enqueue(conn, [m for row, m in zip(rows, outgoing, strict=True) if (row.team_id, row.scan_id) in inserted])
    for candidate in candidates:
        key = (candidate.scan.team_id, candidate.scan.scan_id)
        if key in inserted:
            results[candidate.index] = ItemResult(candidate.index, candidate.scan.scan_id, Outcome.ACCEPTED)
        else:
            results[candidate.index] = _repeat(candidate.index, candidate.scan.scan_id,
                                               same=already.get(key) == candidate.fingerprint)
    return [results[i] for i in range(len(raw_items))]


def _repeat(index: int, scan_id: str, *, same: bool) -> ItemResult:
    if same:
        return ItemResult(index, scan_id, Outcome.DUPLICATE)
    return ItemResult(index, scan_id, Outcome.CONFLICT, [FieldError(
        "scan_id", "this scan id was already used for a scan with different content")])


def _accept(
    candidate: _Candidate, upload: UploadFacts, events: EventFactory, correlation_id: UUID | None
) -> tuple[store_scans.ScanRow, Any]:
    scan, checkpoint, now = candidate.scan, candidate.checkpoint, upload.received_at
    distance = checkpoint.distance_m(scan.latitude, scan.longitude)
    within = None if distance is None else distance <= checkpoint.radius_m + (scan.accuracy_m or 0)
    offset = upload.clock_offset
    offset_s = None if offset is None else offset.total_seconds()
    payload = ScanAcceptedV2(
        scan_id=scan.scan_id, team_id=scan.team_id, member_id=scan.member_id, checkpoint_id=checkpoint.id,
        device_time=scan.device_time, corrected_time=candidate.corrected_time, received_at=now,
        sent_at=upload.sent_at, clock_offset_seconds=offset_s, method=scan.method, device_id=upload.device_id,
        latitude=scan.latitude, longitude=scan.longitude, accuracy_m=scan.accuracy_m, distance_m=distance,
        within_radius=within,
    )
    topic, envelope = events.make(SCAN_ACCEPTED, payload, key=scan.team_id, correlation_id=correlation_id,
                                  occurred_at=now)
    row = store_scans.ScanRow(
        team_id=scan.team_id, scan_id=scan.scan_id, member_id=scan.member_id, checkpoint_id=checkpoint.id,
        device_time=scan.device_time, corrected_time=candidate.corrected_time, received_at=now,
        sent_at=upload.sent_at, clock_offset_s=offset_s, method=None if scan.method is None else scan.method.value,
        device_id=upload.device_id, latitude=scan.latitude, longitude=scan.longitude,
        accuracy_m=scan.accuracy_m, distance_m=distance, within_radius=within,
        fingerprint=candidate.fingerprint, event_id=envelope.event_id,
    )
    return row, (topic, envelope)
