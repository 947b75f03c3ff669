from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pingan_shared.settings import ServiceSettings


class InspectionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INSPECTION_")

    http_port: int = Field(default=8003, ge=0, le=65535)
    metrics_port: int = Field(default=9003, ge=0, le=65535)
    database_url: str = "postgresql://postgres@127.0.0.1:5432/pingan_inspection"
    hazard_deadline_hours: int = Field(default=24, ge=1, le=24 * 30,
                                       description="how long a unit has to rectify a patrol hazard report")
    auto_next_cycles: bool = Field(default=True, description="open a cycle's successor at its close when it asks")
    max_import_rows: int = Field(default=10_000, ge=1, description="rows a units CSV import may hold")
