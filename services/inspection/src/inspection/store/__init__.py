"""SQL of inspection, one module per aggregate (units, cycles, findings, notices, tasks, alerts)."""
