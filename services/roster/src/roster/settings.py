from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pingan_shared.settings import ServiceSettings


class RosterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROSTER_")

    http_port: int = Field(default=8002, ge=0, le=65535)
    database_url: str = "postgresql://postgres@127.0.0.1:5432/pingan_roster"
