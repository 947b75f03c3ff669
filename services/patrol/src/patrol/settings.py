from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pingan_shared.settings import ServiceSettings


class PatrolSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PATROL_")

    http_port: int = Field(default=8001, ge=0, le=65535)
    database_url: str = "postgresql://postgres@127.0.0.1:5432/pingan_patrol"
    max_batch_items: int = Field(default=500, ge=1, le=5000)
    # A device clock may run a little fast; beyond this a scan "from the future" is rejected.
    max_future_skew_seconds: int = Field(default=300, ge=0)
    # Offline phones sync late; older than this a scan can no longer be judged fairly.
    max_offline_age_hours: int = Field(default=72, ge=1)
    # Rounds are materialised from plans this far ahead (tonight + tomorrow) and topped up by a timer.
    round_horizon_hours: int = Field(default=36, ge=1, le=24 * 14)
    round_topup_minutes: int = Field(default=60, ge=1, le=24 * 60)
    # A roster shift with a route becomes a plan for its window: rounds every N minutes (at least one a shift).
    shift_every_minutes: int = Field(default=120, ge=5, le=24 * 60)
    shift_start_grace_minutes: int = Field(default=15, ge=0, le=12 * 60)
    shift_checkpoint_grace_minutes: int = Field(default=10, ge=0, le=12 * 60)
    max_import_rows: int = Field(default=5000, ge=1, le=100_000)
