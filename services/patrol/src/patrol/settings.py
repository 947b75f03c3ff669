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
