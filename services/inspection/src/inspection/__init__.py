"""inspection: 211 cycles, sealed findings, rectification, revisits and accountability.

Skeleton for now: its domain comes with its own issue."""
