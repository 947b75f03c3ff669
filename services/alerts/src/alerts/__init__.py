"""alerts: alerts from every source's signals, escalation policies and ladders, acknowledgement, resolution,
silences, notification delivery and the audit timeline (DESIGN.md §3)."""
