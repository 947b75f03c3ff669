"""alerts: alerts, escalation policies, acknowledgement, notification delivery.

Skeleton for now: its domain comes with its own issue."""
