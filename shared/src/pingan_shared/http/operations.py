"""/v1/operations on every service, admins only: what the service's own machinery gave up on, and handing it back.

* outbox rows the relay parked (the broker refused them for good: too large, an illegal topic), with the error,
  and a retry once the cause is fixed (``pingan_shared.outbox_parked``);
* durable timers that failed every attempt and fire no more, with their last error, and a retry that gives one
  its attempts back (``pingan_shared.timer_failures``);
* the service's platform dead letters: the events its inbox consumers could not parse or handle, read from its own
  ``deadletter.<service>`` topic (``pingan_shared.messaging.dead_letter_reader``), each with its reason and the start
  of the original value. Read only: a dead letter is fixed at its producer and sent again, not retried here.

The same as ``pingan outbox parked|retry``, ``pingan timers failed|retry`` and ``pingan deadletters``, for an
operator who has the console rather than the service's database and broker: the console shows these pages and never
reads a service's tables or topics. Parked rows,
failed timers and dead letters name event types, keys and errors of every scope, so only the admin role reads them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_response, error_responses
from pingan_shared.http.paging import Limit, Page, page_of
from pingan_shared.http.security import require_roles
from pingan_shared.messaging.dead_letter_reader import DeadLetter, DeadLetterReadError, read_dead_letter_page
from pingan_shared.messaging.dead_letters import bounded_text
from pingan_shared.outbox_parked import parked_rows, unpark
from pingan_shared.refused import NotFound
from pingan_shared.timer_failures import failed_timers_page, retry_failed

router = APIRouter(prefix="/v1/operations", tags=["operations"])
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
RowId = Annotated[int, Path(ge=1, le=2**62, description="the id the listing shows")]
IdAfter = Annotated[int | None, Query(ge=0, le=2**62, description="next_after of the previous page")]
# A record's place on the dead-letter topic; 18 digits stay below Kafka's largest offset (2**63 - 1).
PositionAfter = Annotated[str | None, Query(pattern=r"^[0-9]{1,4}:[0-9]{1,18}$", description=(
    "next_after of the previous page: `<partition>:<offset>` of the last record it listed"))]

# A slow or silent broker is answered with 503 after this long, never a hang; then come back after Retry-After.
DEAD_LETTER_READ_SECONDS = 5.0
DEAD_LETTER_RETRY_AFTER_SECONDS = 5
# Encoded JSON bytes per field of a listed dead letter: an item stays under about 5 KiB whatever the record held
# (a dead letter carries up to 256 KiB of the original value; ``pingan deadletters --json`` shows all of it).
PREVIEW_BUDGET = 1024
REASON_BUDGET = 2048
NAME_BUDGET = 256
BROKER_UNREADABLE = "暂时无法读取消息队列中的死信，请稍后重试"


class ParkedRowOut(BaseModel):
    id: int
    topic: str
    key: str
    sequence: int | None = Field(description="the row's per-key sequence, if its event type has one")
    event_id: str
    event_type: str
    size: int = Field(description="bytes of the encoded event")
    created_at: str
    parked_at: str
    error: str = Field(description="why the broker refused it")


class FailedTimerOut(BaseModel):
    id: int
    kind: str
    key: str
    due_at: str = Field(description="when its last attempt was due")
    attempts: int
    last_error: str | None
    payload: dict[str, Any]


class PlatformDeadLetterOut(BaseModel):
    topic: str = Field(description="the service's dead-letter topic (`deadletter.<service>`, with the topic prefix)")
    partition: int
    offset: int
    occurred_at: str | None = Field(description="when the service dead-lettered it; null for an unreadable record")
    consumer_group: str | None = Field(description="the inbox consumer that gave up on the event")
    source_topic: str | None = Field(description="where the original event was read")
    source_partition: int | None
    source_offset: int | None
    source_key: str | None = Field(description="the original key as text (or `base64:…`), cut to 256 bytes")
    source_event_id: str | None = Field(description="null when the original was not an envelope at all")
    source_event_type: str | None
    error: str = Field(description=(
        'the kind of failure: the exception\'s name ("ValidationError", "HandlerRejected", "UnknownEventType"), '
        '"unparseable envelope"; for a record on the topic that is no readable dead letter "unreadable dead letter" '
        'or "not a dead letter"'))
    reason: str = Field(description="the whole reason as the service recorded it, cut to 2 KiB")
    preview: str = Field(description=(
        "the start of the original value as text (UTF-8 as it was, else `base64:…`), cut to 1 KiB with a marker"))


class Retried(BaseModel):
    id: int
    status: str = Field(description='"pending": the relay (or the timer runner) takes it on its next round')


@router.get("/outbox/parked")
async def list_parked_rows(request: Request, _: Admin, limit: Limit = 100,
                           after: IdAfter = None) -> Page[ParkedRowOut]:
    """Outbox rows the broker refused for good, oldest first, each with its error. They hold up nothing (later
    rows are published) and wait here until retried."""
    async with request.app.state.runtime.connection() as conn:
        rows = await parked_rows(conn, limit=limit, after=after)
    return page_of([ParkedRowOut(**row.as_dict()) for row in rows], limit, lambda row: row.id)


@router.post("/outbox/parked/{row_id}/retry", responses=error_responses(404))
async def retry_parked_row(row_id: RowId, request: Request, _: Admin) -> Retried:
    """Hand a parked row back to the relay once its cause is fixed; refused again, it is parked again. 404 naming
    ``row_id`` when no parked row has this id (also one retried already)."""
    async with request.app.state.runtime.connection() as conn:
        retried = await unpark(conn, [row_id])
    if not retried:
        raise NotFound("没有该编号的暂停发布消息 (no parked outbox row with this id)", "row_id")
    return Retried(id=row_id, status="pending")


@router.get("/timers/failed")
async def list_failed_timers(request: Request, _: Admin, limit: Limit = 100,
                             after: IdAfter = None) -> Page[FailedTimerOut]:
    """Durable timers whose handler failed every attempt: they fire no more until retried."""
    async with request.app.state.runtime.connection() as conn:
        timers = await failed_timers_page(conn, limit=limit, after=after)
    items = [FailedTimerOut(id=t.id, kind=t.kind, key=t.key, due_at=t.due_at.isoformat(), attempts=t.attempts,
                            last_error=t.last_error, payload=t.payload) for t in timers]
    return page_of(items, limit, lambda timer: timer.id)


@router.post("/timers/failed/{timer_id}/retry", responses=error_responses(404))
async def retry_failed_timer(timer_id: RowId, request: Request, _: Admin) -> Retried:
    """Give a failed timer its attempts back: the service fires it on its next poll. 404 naming ``timer_id`` when no
    failed timer has this id."""
    async with request.app.state.runtime.connection() as conn:
        retried = await retry_failed(conn, timer_id)
    if not retried:
        raise NotFound("没有该编号的失败定时器 (no failed timer with this id)", "timer_id")
    return Retried(id=timer_id, status="pending")


@router.get("/dead-letters", responses={503: error_response(503, (
    f"The broker could not be read within {DEAD_LETTER_READ_SECONDS:g} s (unreachable, or not answering): nothing "
    "is known about the dead letters. Retry after `Retry-After` seconds."))})
async def list_dead_letters(request: Request, _: Admin, limit: Limit = 100,
                            after: PositionAfter = None) -> Page[PlatformDeadLetterOut]:
    """The service's platform dead letters: the events its inbox consumers could not parse or handle, each with the
    consumer, the original event's place, key and type, the error and reason and the start of its value. Read from
    the service's own `deadletter.<service>` topic without a consumer group (nobody's offsets move), in (partition,
    offset) order; `next_after` is the last record's `<partition>:<offset>`. A service that consumes nothing has
    none. 503 when the broker does not answer within a few seconds."""
    runtime = request.app.state.runtime
    if not runtime.uses_broker:
        return Page[PlatformDeadLetterOut](items=[], next_after=None)
    position = None
    if after is not None:
        partition, offset = after.split(":")
        position = int(partition), int(offset)
    try:
        letters = await read_dead_letter_page(runtime.platform.kafka_bootstrap_servers, runtime.deadletter_topic,
                                              after=position, limit=limit, timeout=DEAD_LETTER_READ_SECONDS)
    except DeadLetterReadError as exc:
        raise ApiError(503, f"{BROKER_UNREADABLE} ({exc})",
                       headers={"Retry-After": str(DEAD_LETTER_RETRY_AFTER_SECONDS)}) from exc
    return page_of([_dead_letter_out(d) for d in letters], limit, lambda d: f"{d.partition}:{d.offset}")


def _dead_letter_out(dead: DeadLetter) -> PlatformDeadLetterOut:
    place: dict[str, Any] = {"topic": dead.topic, "partition": dead.partition, "offset": dead.offset,
                             "occurred_at": dead.occurred_at.isoformat() if dead.occurred_at else None}
    d = dead.letter
    if d is None:  # a record that is no readable dead letter: what is wrong with it, and its bytes
        problem = dead.problem or ""
        return PlatformDeadLetterOut(
            **place, consumer_group=None, source_topic=None, source_partition=None, source_offset=None,
            source_key=None, source_event_id=None, source_event_type=None, error=_kind(problem),
            reason=bounded_text(problem, REASON_BUDGET), preview=bounded_text(dead.value or "", PREVIEW_BUDGET))
    return PlatformDeadLetterOut(
        **place, consumer_group=_name(d.consumer_group), source_topic=_name(d.source_topic),
        source_partition=d.source_partition, source_offset=d.source_offset, source_key=_name(d.source_key),
        source_event_id=_name(d.source_event_id), source_event_type=_name(d.source_event_type),
        error=_kind(d.reason), reason=bounded_text(d.reason, REASON_BUDGET),
        preview=bounded_text(d.raw_value, PREVIEW_BUDGET))


def _name(text: str | None) -> str | None:
    return None if text is None else bounded_text(text, NAME_BUDGET)


def _kind(reason: str) -> str:
    """What a reason starts with: an exception's name, or a phrase of the consumer's ("unparseable envelope"); the
    reasons are the consumer's own ``f"{kind}: {detail}"``, and a reason that is not (a hand-made record) is "error"."""
    kind, said, _ = reason.partition(": ")
    return bounded_text(kind, NAME_BUDGET) if said and 0 < len(kind) <= 80 and "\n" not in kind else "error"
