"""The live coverage stream's settings (``PATROL_LIVE_*``), beside patrol's own ``PatrolSettings``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LiveCoverageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PATROL_LIVE_", extra="ignore", frozen=True)

    # Off: no faust app in this process, GET /v1/coverage/live answers 503 (the record is unaffected).
    enabled: bool = True
    # Nights kept in memory and in the changelog's retention: offline phones sync up to
    # PATROL_MAX_OFFLINE_AGE_HOURS (72) late, and their scans must still find their night's window.
    keep_nights: int = Field(default=4, ge=1, le=62)
    # Standby copies of each table partition on other replicas (faust table_standby_replicas). With N live
    # replicas, N - 1 gives every replica every partition, so each one's HTTP view is the whole picture.
    standby_replicas: int = Field(default=0, ge=0, le=20)
    # How often faust drops windows older than keep_nights (its own wall clock).
    cleanup_interval_seconds: float = Field(default=600, gt=0)
    # The SSE stream sends a comment line this often, so proxies keep an idle stream open.
    stream_ping_seconds: float = Field(default=15, gt=0, le=300)
    # An input partition whose reads have stopped this long after recovery (no fetch answer: paused or its records
    # never taken) gets the app thrown away and built anew (live/stall.py: a faust-streaming failure mode).
    stall_seconds: float = Field(default=20, ge=1, le=3600)
