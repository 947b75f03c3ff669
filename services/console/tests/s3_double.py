"""A small S3-compatible server for the photo store's tests: one bucket in memory, objects put, read and headed by
path (``/bucket/key``, as MinIO is addressed), and every request's AWS Signature Version 4 checked against the
one access key it knows — a wrong secret is refused as S3 refuses it (403 SignatureDoesNotMatch).

No S3 server is among the locked packages (moto is not; MinIO is a binary of its own), and this much of the
protocol is what the console uses. It does not do multipart uploads, listing, versions or presigned URLs.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import parse_qsl, quote


@dataclass
class S3Double:
    bucket: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    objects: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # key -> (body, content type)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of each signed request
    endpoint: str = ""

    def signature_ok(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> bool:
        authorization = headers.get("authorization", "")
        if not authorization.startswith("AWS4-HMAC-SHA256 "):
            return False
        fields = dict(part.strip().split("=", 1) for part in authorization[len("AWS4-HMAC-SHA256 "):].split(","))
        access_key, date, region, service, terminator = fields["Credential"].split("/")
        if (access_key, region, service, terminator) != (self.access_key, self.region, "s3", "aws4_request"):
            return False
        payload_hash = headers.get("x-amz-content-sha256", "")
        if payload_hash != "UNSIGNED-PAYLOAD" and payload_hash != hashlib.sha256(body).hexdigest():
            return False
        path, _, query = raw_path.partition("?")
        canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                                   for k, v in sorted(parse_qsl(query, keep_blank_values=True)))
        signed = fields["SignedHeaders"].split(";")
        canonical_headers = "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed)
        canonical = "\n".join([method, path, canonical_query, canonical_headers, fields["SignedHeaders"],
                               payload_hash])
        scope = f"{date}/{region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", headers.get("x-amz-date", ""), scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + self.secret_key).encode()
        for part in (date, region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, fields["Signature"])


def _handler(double: S3Double) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, status: int, code: str) -> None:
            self._answer(status, f"<Error><Code>{code}</Code></Error>".encode(), {"Content-Type": "application/xml"})

        def _object(self) -> str | None:
            """The key of a request signed for our bucket, or None once it has been answered with an error."""
            body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
            self._body = body
            headers = {name.lower(): value for name, value in self.headers.items()}
            if not double.signature_ok(self.command, self.path, headers, body):
                self._error(403, "SignatureDoesNotMatch")
                return None
            double.requests.append((self.command, self.path))
            bucket, _, key = self.path.partition("?")[0].lstrip("/").partition("/")
            if bucket != double.bucket:
                self._error(404, "NoSuchBucket")
                return None
            return key

        def _found(self, key: str) -> None:
            if key not in double.objects:
                self._error(404, "NoSuchKey")
                return
            body, content_type = double.objects[key]
            self._answer(200, body, {"Content-Type": content_type, "ETag": f'"{hashlib.md5(body).hexdigest()}"',
                                     "Last-Modified": formatdate(usegmt=True)})

        def do_PUT(self) -> None:
            key = self._object()
            if key is not None:
                content_type = self.headers.get("Content-Type", "binary/octet-stream")
                double.objects[key] = (self._body, content_type)
                self._answer(200, headers={"ETag": f'"{hashlib.md5(self._body).hexdigest()}"'})

        def do_GET(self) -> None:
            key = self._object()
            if key is not None:
                self._found(key)

        def do_HEAD(self) -> None:
            key = self._object()
            if key is not None:
                self._found(key)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serving(double: S3Double) -> Iterator[S3Double]:
    """The double on a loopback port the system picks; ``double.endpoint`` is its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(double))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    double.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield double
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
