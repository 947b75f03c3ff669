"""A request HTTP cannot parse (raw non-ASCII in the URL, spaces, garbage) is answered over a real socket in the
one error shape, Chinese first, and the connection closed; a percent-encoded one reaches the app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from pingan_shared.http.unparsable import BilingualHttpToolsProtocol
from pingan_shared.http.wording import UNPARSABLE_REQUEST


async def echo_path(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "http"
    path = scope["raw_path"]
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(path)).encode())]})
    await send({"type": "http.response.body", "body": path})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    config = uvicorn.Config(echo_path, host="127.0.0.1", port=0, http=BilingualHttpToolsProtocol, log_config=None,
                            lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), serving
        await asyncio.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    await serving


async def exchange(port: int, raw: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=5)  # read() to EOF: the server closed the connection
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(b": ") for line in lines)}
    return status, headers, body


@pytest.mark.parametrize("raw", [
    "GET /v1/directory/entries/塘下镇 HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
    b"GET /v1/a b HTTP/1.1\r\nHost: x\r\n\r\n",
    b"NOT HTTP AT ALL\r\n\r\n",
], ids=["raw-chinese", "space", "garbage"])
async def test_an_unparsable_request_is_400_in_the_one_error_shape(port: int, raw: bytes) -> None:
    status, headers, body = await exchange(port, raw)
    assert status == b"HTTP/1.1 400 Bad Request"
    assert headers[b"content-type"] == b"application/json" and int(headers[b"content-length"]) == len(body)
    assert json.loads(body) == {"detail": UNPARSABLE_REQUEST, "errors": []}
    assert UNPARSABLE_REQUEST.startswith("请求无法解析")


async def test_the_same_url_percent_encoded_reaches_the_app(port: int) -> None:
    status, _, body = await exchange(port, b"GET /v1/directory/entries/%E5%A1%98 HTTP/1.1\r\nHost: x\r\n"
                                           b"Connection: close\r\n\r\n")
    assert status == b"HTTP/1.1 200 OK" and body == b"/v1/directory/entries/%E5%A1%98"
