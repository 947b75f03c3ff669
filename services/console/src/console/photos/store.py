"""Where photo objects live, behind one interface: a directory (the embedded stack) or an S3-compatible bucket
(MinIO in docker compose and Kubernetes), both through obstore.

Keys are the content addresses made by images.py (``photos/<sha256>.jpg``, ``thumbs/<sha256>.jpg``): a key names
its bytes for good, so a second upload of the same photo finds it there and writes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import obstore
from obstore.store import LocalStore as ObstoreLocal
from obstore.store import S3Store as ObstoreS3

# a key's '/'-separated segments: lower-case letters, digits, '.', '_' and '-', not starting with '.' (no '..')
_SEGMENT = re.compile(r"[a-z0-9][a-z0-9._-]*")


class PhotoNotFound(LookupError):
    """No object under that key."""


class PhotoStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes:
        """The object's bytes; ``PhotoNotFound`` when there is none."""
        ...

    async def exists(self, key: str) -> bool: ...


def checked_key(key: str) -> str:
    if not all(_SEGMENT.fullmatch(segment) for segment in key.split("/")):
        raise ValueError(f"not a photo store key: {key!r}")
    return key


class _ObjectStore:
    """A PhotoStore over any obstore store."""

    def __init__(self, store: obstore.store.ObjectStore | None, *, keeps_content_type: bool) -> None:
        self._store = store
        self._keeps_content_type = keeps_content_type

    def _objects(self) -> obstore.store.ObjectStore:
        assert self._store is not None
        return self._store

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        # S3 keeps the content type and answers with it; a directory has nowhere to keep it (and the console
        # names the type by the key's extension when it serves a photo anyway)
        attributes = {"Content-Type": content_type} if self._keeps_content_type else None
        await obstore.put_async(self._objects(), checked_key(key), data, attributes=attributes)

    async def get(self, key: str) -> bytes:
        try:
            result = await obstore.get_async(self._objects(), checked_key(key))
            return bytes(await result.bytes_async())
        except FileNotFoundError as error:
            raise PhotoNotFound(key) from error

    async def exists(self, key: str) -> bool:
        try:
            await obstore.head_async(self._objects(), checked_key(key))
        except FileNotFoundError:
            return False
        return True


class LocalStore(_ObjectStore):
    """Photos in a directory of this machine, created when first used (building a console that never sees a photo
    leaves nothing behind)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        super().__init__(None, keeps_content_type=False)

    def _objects(self) -> obstore.store.ObjectStore:
        if self._store is None:
            self._store = ObstoreLocal(self.directory, mkdir=True)
        return self._store

    def __repr__(self) -> str:
        return f"LocalStore({str(self.directory)!r})"


class S3Store(_ObjectStore):
    """Photos in an S3-compatible bucket. ``endpoint``: MinIO's URL (``http://minio:9000``), or None for AWS
    itself; plain HTTP only with ``allow_http`` (MinIO on a private network). Addressed by path
    (``endpoint/bucket/key``), which MinIO and every S3 look-alike answer. Credentials: the given keys, else
    obstore's usual AWS sources (``AWS_ACCESS_KEY_ID`` …, an instance role)."""

    def __init__(self, *, bucket: str, endpoint: str | None = None, region: str = "us-east-1",
                 access_key: str | None = None, secret_key: str | None = None, allow_http: bool = False) -> None:
        if (access_key is None) != (secret_key is None):
            raise ValueError("an S3 access key and its secret key go together")
        self.bucket, self.endpoint, self.region = bucket, endpoint, region
        config: dict[str, str | bool] = {"region": region, "virtual_hosted_style_request": False}
        if endpoint is not None:
            config["endpoint"] = endpoint
        if access_key is not None and secret_key is not None:
            config["access_key_id"], config["secret_access_key"] = access_key, secret_key
        store = ObstoreS3(bucket, config=config, client_options={"allow_http": allow_http})  # type: ignore[arg-type]
        super().__init__(store, keeps_content_type=True)

    def __repr__(self) -> str:  # never the keys
        return f"S3Store(bucket={self.bucket!r}, endpoint={self.endpoint!r}, region={self.region!r})"


def store_from_url(url: str, *, access_key: str | None = None, secret_key: str | None = None,
                   endpoint: str | None = None, region: str | None = None) -> PhotoStore:
    """``file:///srv/photos`` or ``file:relative/dir``: a directory. ``s3://bucket?endpoint=http://minio:9000``
    (``&region=…``): a bucket, plain HTTP allowed when the endpoint is ``http://``. The keys never go in the URL (it
    is printed and logged); a keyword argument fills what the URL leaves out."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path or parts.query:
            raise ValueError(f"a directory is file:///absolute/path or file:relative/path, not {url!r}")
        return LocalStore(Path(parts.path))
    if parts.scheme == "s3":
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint", "region"}
        if not parts.netloc or parts.path not in ("", "/") or unknown:
            raise ValueError(f"an S3 store is s3://bucket?endpoint=…&region=…, not {url!r}")
        endpoint = query.get("endpoint", endpoint)
        if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
            raise ValueError(f"the S3 endpoint is an http:// or https:// URL, not {endpoint!r}")
        return S3Store(bucket=parts.netloc, endpoint=endpoint, region=query.get("region", region or "us-east-1"),
                       access_key=access_key, secret_key=secret_key,
                       allow_http=endpoint is not None and endpoint.startswith("http://"))
    raise ValueError(f"a photo store is file:… or s3://…, not {url!r}")
