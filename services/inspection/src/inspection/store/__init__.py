"""All SQL of inspection, one module per aggregate (units, cycles, findings, notices, tasks and their timeline,
alerts); rows come out as dataclasses where their readers are few (units, cycles, findings, notices)."""
