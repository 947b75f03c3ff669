"""inspection: 211 cycles, sealed findings, rectification, revisits and accountability (skeleton: its domain comes with its own issue)."""
