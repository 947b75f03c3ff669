"""The answer to a request HTTP itself cannot parse, in the one error shape and Chinese first.

A request line with raw (not percent-encoded) non-ASCII bytes, spaces in the target or plain garbage never reaches
the app: uvicorn's parser refuses it and writes a bare ``400 Invalid HTTP request received.`` as text/plain. A
phone app or a hand-typed curl that sends ``/v1/directory/entries/塘下镇`` unencoded should be told, in its user's
language and in the same JSON as every other refusal, what to do about it. This protocol answers that 400 so.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pingan_shared.http.wording import UNPARSABLE_REQUEST


def unparsable_body() -> bytes:
    return json.dumps({"detail": UNPARSABLE_REQUEST, "errors": []}, ensure_ascii=False).encode("utf-8")


class BilingualHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the unparsable request answered as every other error is."""

    def send_400_response(self, msg: str) -> None:
        body = unparsable_body()
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend([b"content-type: application/json\r\n",
                     b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                     b"connection: close\r\n", b"\r\n"])
        self.transport.write(b"".join(head) + body)
        self.transport.close()
