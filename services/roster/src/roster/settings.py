from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pingan_shared.settings import ServiceSettings


class RosterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROSTER_")

    http_port: int = Field(default=8002, ge=0, le=65535)
    metrics_port: int = Field(default=9002, ge=0, le=65535)
    database_url: str = "postgresql://postgres@127.0.0.1:5432/pingan_roster"
    # Attendance (roster.presence, roster.noshows): a shift member with no presence (scan or check-in) by the
    # shift's start + grace is a no-show; a scan or check-in counts from this long before the start.
    no_show_grace_minutes: int = Field(default=30, ge=0, le=24 * 60)
    presence_early_minutes: int = Field(default=60, ge=0, le=24 * 60)
    max_import_rows: int = Field(default=20000, ge=1, description="rows per member CSV import")
    # Solving runs in a background worker, never in the request: a job row is claimed with a lease (real time,
    # not the business clock) so a replica that dies mid-solve leaves it to be resumed after the lease.
    solve_default_time_limit_s: float = Field(default=30.0, gt=0, le=3600)
    solve_max_time_limit_s: float = Field(default=600.0, gt=0, le=86400)
    solve_workers: int = Field(default=2, ge=1, le=64, description="CP-SAT search workers per solve")
    solve_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    solve_max_attempts: int = Field(default=2, ge=1, le=10,
                                    description="a job interrupted this many times (restarts) fails visibly")
    solve_progress_every_s: float = Field(default=1.0, gt=0, le=60)
    solve_lease_seconds: float = Field(default=15.0, gt=0, le=600,
                                       description="a running job whose worker stops renewing this long is resumed")
    handoff_reminder_minutes: int = Field(default=120, ge=0, le=10080,
                                          description="how long before a shift starts its reminder fires")
