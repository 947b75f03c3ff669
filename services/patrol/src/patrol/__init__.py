"""patrol: checkpoints, scan ingestion and validation (rounds and coverage come with their issue)."""
