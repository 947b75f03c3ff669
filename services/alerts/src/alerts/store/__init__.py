"""SQL for the alerts service's tables, one module per aggregate."""
