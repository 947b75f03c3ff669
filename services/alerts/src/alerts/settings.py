from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from pingan_shared.settings import ServiceSettings


class AlertsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ALERTS_")

    http_port: int = Field(default=8004, ge=0, le=65535)
    metrics_port: int = Field(default=9004, ge=0, le=65535)
    database_url: str = "postgresql://postgres@127.0.0.1:5432/pingan_alerts"

    # --- escalation (the auditor) ---
    auditor_interval_seconds: float = Field(default=30, gt=0, description="how often the auditor looks for stalls")
    auditor_stall_bound_seconds: float = Field(default=120, ge=0, description=(
        "how long past its due time an escalation step may stay unfired before the auditor reports it"))

    escalation_runners: int = Field(default=2, ge=1, le=8, description=(
        "timer runners per replica that fire due escalation steps (the platform's one included): the batches of a "
        "burst of due steps fire side by side, each in its own transaction, as they would on as many replicas"))

    # --- delivery (alerts.delivery) ---
    delivery_poll_seconds: float = Field(default=0.5, gt=0, description="how often the delivery worker looks")
    delivery_batch_size: int = Field(default=200, ge=1, le=5000, description="messages claimed per round")
    delivery_concurrency: int = Field(default=32, ge=1, le=512, description="sends in flight per replica")
    delivery_sending_timeout_seconds: float = Field(default=60, gt=0, description=(
        "a message in sending longer than this is taken back by any replica and tried again"))
    delivery_max_attempts: int = Field(default=6, ge=1, le=100)
    delivery_backoff_base_seconds: float = Field(default=5, ge=0, description="first retry delay; doubles each time")
    delivery_backoff_max_seconds: float = Field(default=900, ge=0)
    delivery_bundle_window_seconds: float = Field(default=2, ge=0, description=(
        "a notification to a recipient on a channel with nothing sent to it within this window leaves at once; what "
        "follows within the window leaves as one message at its end"))
    delivery_bundle_max: int = Field(default=20, ge=1, le=500, description="notifications per bundled message")
    delivery_rate_limits: dict[str, int] = Field(
        default_factory=lambda: {"webhook": 600, "email": 120, "inbox": 0, "stream": 0},
        description="messages per minute per channel, across all replicas; 0 = unlimited")
    delivery_webhook_timeout_seconds: float = Field(default=10, gt=0)
    delivery_stuck_bound_seconds: float = Field(default=120, ge=0, description=(
        "the auditor reports a message still in sending this long past its deadline"))
    delivery_gauge_seconds: float = Field(default=15, gt=0, description="how often delivery gauges are counted")
    delivery_link_base_url: str = Field(default="", description="prefix for a notification's link, if relative")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "平安预警 <pingan-alerts@localhost>"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(default=15, gt=0)
    @field_validator("smtp_username", "smtp_password", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """Compose and Kubernetes set an unused login as an empty string: no login, not an empty one."""
        return None if value == "" else value

    stream_ping_seconds: float = Field(default=15, gt=0, description="SSE keep-alive comment interval")
