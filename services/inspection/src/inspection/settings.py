from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pingan_shared.settings import ServiceSettings


class InspectionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INSPECTION_")

    http_port: int = Field(default=8003, ge=0, le=65535)
    database_url: str = "postgresql://postgres@127.0.0.1:5432/pingan_inspection"
