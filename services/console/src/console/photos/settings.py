"""Where the console keeps evidence photos and how large they may be (prefix ``CONSOLE_``).

``CONSOLE_PHOTO_STORE`` is ``file:<directory>`` (the embedded stack; relative to where the console runs) or
``s3://<bucket>`` (MinIO in docker compose and Kubernetes) with ``CONSOLE_S3_ENDPOINT`` and the keys
``CONSOLE_S3_ACCESS_KEY`` / ``CONSOLE_S3_SECRET_KEY``; ``CONSOLE_S3_BUCKET`` names the bucket when the URL is
just ``s3://``. The console's settings take these fields by inheriting this class.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from console.photos.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, Limits
from console.photos.store import PhotoStore, store_from_url


class PhotoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore")

    photo_store: str = Field(default="file:.pingan/photos", description="file:<directory> or s3://<bucket>")
    s3_endpoint: str | None = Field(default=None, description="e.g. http://minio:9000; none: AWS itself")
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    photo_max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1024, le=100 * 1024 * 1024)
    photo_max_pixels: int = Field(default=DEFAULT_MAX_PIXELS, ge=10_000, le=500_000_000)

    @model_validator(mode="after")
    def _store_is_complete(self) -> PhotoSettings:
        parts = urlsplit(self.photo_store)
        if parts.scheme not in ("file", "s3"):
            raise ValueError("CONSOLE_PHOTO_STORE is file:<directory> or s3://<bucket>")
        if parts.scheme == "s3":
            if not (parts.netloc or self.s3_bucket):
                raise ValueError("an S3 photo store needs its bucket: s3://<bucket> or CONSOLE_S3_BUCKET")
            if parts.netloc and self.s3_bucket and parts.netloc != self.s3_bucket:
                raise ValueError("CONSOLE_PHOTO_STORE and CONSOLE_S3_BUCKET name different buckets")
            if (self.s3_access_key is None) != (self.s3_secret_key is None):
                raise ValueError("CONSOLE_S3_ACCESS_KEY and CONSOLE_S3_SECRET_KEY go together")
        return self

    @property
    def photo_limits(self) -> Limits:
        return Limits(max_bytes=self.photo_max_bytes, max_pixels=self.photo_max_pixels)

    def photo_store_instance(self) -> PhotoStore:
        """The store these settings name (opening no connection: obstore connects on first use)."""
        url = self.photo_store
        if url.rstrip("/") == "s3:" or url == "s3://":
            url = f"s3://{self.s3_bucket}"
        secret = self.s3_secret_key.get_secret_value() if self.s3_secret_key is not None else None
        return store_from_url(url, access_key=self.s3_access_key, secret_key=secret,
                              endpoint=self.s3_endpoint, region=self.s3_region)
