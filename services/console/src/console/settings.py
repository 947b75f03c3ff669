"""The console's own settings (prefix ``CONSOLE_``), beside the platform's (``PINGAN_*``).

The four services' addresses keep the names every operator command reads (``PATROL_URL`` … ``ALERTS_URL``,
``pingan_stack.endpoints``), so one environment points the CLI and the console at the same stack.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import SettingsConfigDict

from console.photos.settings import PhotoSettings
from pingan_shared.settings import ServiceSettings

# The services the console calls, in the order its pages list them.
SERVICE_NAMES = ("patrol", "roster", "inspection", "alerts")


def _service_url(name: str, port: int) -> str:
    return Field(default=f"http://127.0.0.1:{port}", validation_alias=AliasChoices(f"{name.upper()}_URL"),
                 description=f"the {name} service's base URL")


class ConsoleSettings(ServiceSettings, PhotoSettings):
    # PhotoSettings: where evidence photos are kept (CONSOLE_PHOTO_STORE, CONSOLE_S3_*) and how large they may be
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", populate_by_name=True)

    http_port: int = Field(default=8000, ge=0, le=65535)
    metrics_port: int = Field(default=9000, ge=0, le=65535)
    database_url: str = "postgresql://postgres@127.0.0.1:5432/pingan_console"

    patrol_url: str = _service_url("patrol", 8001)
    roster_url: str = _service_url("roster", 8002)
    inspection_url: str = _service_url("inspection", 8003)
    alerts_url: str = _service_url("alerts", 8004)
    # How long one call to a service may take before its page says the service is not answering.
    service_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # The tokens the console mints for the signed-in person live this long (real minutes; stretched by the clock
    # scale like `pingan token issue`'s): a token caught on the way is worth little.
    service_token_minutes: float = Field(default=5.0, gt=0, le=60)
    # Sessions: ended after this long without a request, and this long after sign-in whatever happens.
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=24 * 30)
    # The Secure flag of the session cookie (sent over HTTPS only). None: on, except in PINGAN_ENV=dev, where the
    # console is opened as http://127.0.0.1:8000.
    cookie_secure: bool | None = None

    # Sign-in throttle: this many failures within the window lock the account (or the client address) until the
    # oldest of them leaves the window. An address gets more: one office's NAT is many people.
    throttle_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    throttle_account_failures: int = Field(default=5, ge=1, le=1000)
    throttle_address_failures: int = Field(default=20, ge=1, le=10000)

    # argon2id cost (RFC 9106's second recommendation, argon2-cffi's default). A stored hash made with other
    # parameters is re-made at the next successful sign-in.
    password_time_cost: int = Field(default=3, ge=1, le=20)
    password_memory_kib: int = Field(default=65536, ge=8 * 1024, le=4 * 1024 * 1024)
    password_parallelism: int = Field(default=4, ge=1, le=16)

    # The origin browsers open the console at (https://pingan.example), when a TLS proxy in front makes the console
    # see itself otherwise; changing requests must come from it. None: the request's own scheme and Host.
    public_origin: str | None = None
    # Evidence photos are uploaded through the console: bodies up to this size.
    max_request_bytes: int = Field(default=32_000_000, ge=1024)

    # Map tiles come from these hosts (the content security policy lets images load from them): e.g.
    # "https://tiles.intranet.example". Empty: no tiles, the map shows its points on a plain background.
    map_tile_hosts: str = Field(default="", description="space- or comma-separated origins")
    # The tile source of the console's maps, a Leaflet URL template ("https://tiles.intranet.example/{z}/{x}/{y}.png";
    # {s} for subdomains). Its host is let through the content security policy with the hosts above. Empty: no tiles.
    map_tiles_url: str = Field(default="", max_length=500, description="a tile URL template with {z}, {x} and {y}")
    map_tiles_attribution: str = Field(default="", max_length=300, description="the tiles' credit line, as text")

    @field_validator("patrol_url", "roster_url", "inspection_url", "alerts_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("public_origin", mode="before")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        value = value.strip() or None if isinstance(value, str) else value  # empty in an env file: unset
        if value is not None and (not value.startswith(("http://", "https://")) or value.rstrip("/").count("/") > 2):
            raise ValueError("an origin: scheme://host[:port], no path")
        return None if value is None else value.rstrip("/")

    @field_validator("map_tile_hosts")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in value.replace(",", " ").split():
            if not origin.startswith(("http://", "https://")) or any(c in origin for c in ";'\""):
                raise ValueError(f"{origin!r} is not an http(s) origin")
        return value

    @field_validator("map_tiles_url")
    @classmethod
    def _tile_template(cls, value: str) -> str:
        if value and (_origin_of_template(value) is None or not all(p in value for p in ("{z}", "{x}", "{y}"))):
            raise ValueError("an http(s) URL template with {z}, {x} and {y}")
        return value

    @property
    def tile_origins(self) -> list[str]:
        origins = self.map_tile_hosts.replace(",", " ").split()
        template_origin = _origin_of_template(self.map_tiles_url)
        return [*origins, template_origin] if template_origin and template_origin not in origins else origins

    def service_url(self, name: str) -> str:
        url: str = getattr(self, f"{name}_url")
        return url


def _origin_of_template(template: str) -> str | None:
    """The origin a tile URL template loads from, as the content security policy names it: ``{s}.`` (Leaflet's
    subdomains) becomes ``*.``; None for anything but an http(s) URL with a plain host."""
    scheme, _, rest = template.partition("://")
    host = rest.split("/", 1)[0].replace("{s}.", "*.")
    if scheme not in ("http", "https") or not host or any(c in host for c in "{};'\" ,"):
        return None
    return f"{scheme}://{host}"
