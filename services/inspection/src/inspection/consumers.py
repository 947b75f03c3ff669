"""inspection's inbox consumers (each event's effects exactly once; HandlerRejected → dead letter):

- ``inspection.hazards``: ``patrol.hazard-reported`` → an ad-hoc task due in 24 hours (``hazards``);
- ``inspection.accountability``: the alerts service's lifecycle events of a task's overdue alert →
  accountability records and the alert's state on the task (``accountability``).
"""

from __future__ import annotations

from inspection.accountability import on_alert_lifecycle
from inspection.context import InspectionContext
from inspection.hazards import hazard_handler
from pingan_shared.directory.replica import REPLICA_HANDLERS
from pingan_shared.events.catalog import (
    ALERT_ACKNOWLEDGED,
    ALERT_ESCALATED,
    ALERT_RAISED,
    ALERT_RESOLVED,
    HAZARD_REPORTED,
)
from pingan_shared.messaging.consumer import ConsumerSpec

HAZARDS_GROUP = "inspection.hazards"
ACCOUNTABILITY_GROUP = "inspection.accountability"


def specs(ctx: InspectionContext) -> list[ConsumerSpec]:
    """The inbox consumers, each with ``ctx`` bound into the handlers that need it."""
    return [
        # the directory's entries too: inspection's copy, whose organisations and places its units are
        ConsumerSpec(HAZARDS_GROUP, handlers={HAZARD_REPORTED: hazard_handler(ctx), **REPLICA_HANDLERS}),
        ConsumerSpec(ACCOUNTABILITY_GROUP, handlers={
            name: on_alert_lifecycle for name in (ALERT_RAISED, ALERT_ESCALATED, ALERT_ACKNOWLEDGED, ALERT_RESOLVED)
        }),
    ]
