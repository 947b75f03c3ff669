"""alerts: alerts, escalation policies, acknowledgement and notification delivery (skeleton: its domain comes with its own issue)."""
