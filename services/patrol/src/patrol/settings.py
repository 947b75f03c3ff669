from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pingan_shared.settings import ServiceSettings


class PatrolSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PATROL_")

    http_port: int = Field(default=8001, ge=0, le=65535)
    metrics_port: int = Field(default=9001, ge=0, le=65535)
    database_url: str = "postgresql://postgres@127.0.0.1:5432/pingan_patrol"
    max_batch_items: int = Field(default=500, ge=1, le=5000)
    # A device clock may run a little fast; beyond this a scan "from the future" is rejected.
    max_future_skew_seconds: int = Field(default=300, ge=0)
    # Offline phones sync late; older than this a scan can no longer be judged fairly.
    max_offline_age_hours: int = Field(default=72, ge=1)
    # An upload's clock offset (received_at - sent_at) up to this is latency and drift: device times stand.
    # Beyond it the phone's clock is wrong: its device times are corrected by the offset and flagged clock-skew.
    clock_tolerance_seconds: int = Field(default=120, ge=0, le=86_400)
    # Anti-fraud flags (flags.py, run by the patrol.scans consumer): faster than this between two scans of a
    # member is impossible; the same checkpoint again within this is a repeat; another device's scans at most
    # this far apart around a scan make a span it overlaps; neighbours farther apart than this are not compared
    # for speed.
    flag_max_speed_kmh: float = Field(default=100, gt=0, le=2000)
    flag_repeat_seconds: int = Field(default=60, ge=0, le=3600)
    flag_device_span_minutes: int = Field(default=60, ge=0, le=24 * 60)
    flag_neighbour_hours: int = Field(default=12, ge=1, le=72)
    # Hazard reports: at most this many photo references each.
    max_hazard_photos: int = Field(default=20, ge=0, le=20)
    # Rounds are materialised from plans this far ahead (tonight + tomorrow) and topped up by a timer.
    round_horizon_hours: int = Field(default=36, ge=1, le=24 * 14)
    round_topup_minutes: int = Field(default=60, ge=1, le=24 * 60)
    # A roster shift with a route becomes a plan for its window: rounds every N minutes (at least one a shift).
    shift_every_minutes: int = Field(default=120, ge=5, le=24 * 60)
    shift_start_grace_minutes: int = Field(default=15, ge=0, le=12 * 60)
    shift_checkpoint_grace_minutes: int = Field(default=10, ge=0, le=12 * 60)
    max_import_rows: int = Field(default=5000, ge=1, le=100_000)
