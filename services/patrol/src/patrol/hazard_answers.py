"""What inspection answered for the hazards patrol reported (DESIGN.md §3, flow 7): ``inspection.hazard-refused``
with the problems the patrol's organiser can fix (a unit the directory does not hold). The hazard is a triage task
in inspection all the same; the answer shows on the hazard (``inspection_problems``, ``inspection_task_id``) in
``GET /v1/hazards``.

inspection numbers its answers per hazard: a late or repeated one changes nothing (the highest applied sequence is
kept on the hazard). An answer for a hazard patrol does not hold (another deployment's, a database restored from
before it) has nothing to show on and is dropped.
"""

from __future__ import annotations

import asyncpg
from pydantic import BaseModel

from patrol.store import hazards as store
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.inspection_contracts import HazardRefusedV1
from pingan_shared.messaging.ordering import highest_applied, should_apply


async def apply_answer(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
    assert isinstance(payload, HazardRefusedV1)
    held, last_sequence = await store.answer_sequence_for_update(conn, payload.hazard_id)
    if not held or not should_apply(last_sequence, envelope):
        return  # not a hazard of ours, or a late or repeated answer
    await store.record_answer(conn, payload.hazard_id, problems=[p.model_dump() for p in payload.problems],
                              task_id=payload.task_id, sequence=highest_applied(last_sequence, envelope),
                              at=payload.at)
