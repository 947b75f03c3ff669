"""patrol's SQL, one module per aggregate (checkpoints, routes, plans, rounds, scans, flags, hazards, coverage).
Every function runs inside the caller's connection or transaction and hands back typed rows; callers import
the module they need. Nothing above this package writes SQL."""
