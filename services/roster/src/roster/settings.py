from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pingan_shared.settings import ServiceSettings


class RosterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROSTER_")

    http_port: int = Field(default=8002, ge=0, le=65535)
    database_url: str = "postgresql://postgres@127.0.0.1:5432/pingan_roster"
    # Attendance (roster.presence, roster.noshows): a shift member with no presence (scan or check-in) by the
    # shift's start + grace is a no-show; a scan or check-in counts from this long before the start.
    no_show_grace_minutes: int = Field(default=30, ge=0, le=24 * 60)
    presence_early_minutes: int = Field(default=60, ge=0, le=24 * 60)
