"""A service process whose picked port was taken before it could bind it (another test's process, on a busy machine)
starts again on other ports instead of failing the test (pingan_stack.harness.ProcessCluster.start)."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest

from pingan_stack import harness
from pingan_stack.embedded import free_port
from pingan_stack.harness import ProcessCluster

# a process scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow


@pytest.fixture
def taken_port() -> Iterator[int]:
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


async def test_a_service_whose_port_was_taken_meanwhile_starts_on_another(
    cluster: ProcessCluster, database_factory: Callable[[], Awaitable[str]], taken_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    picks = iter([taken_port])
    monkeypatch.setattr(harness, "free_port", lambda: next(picks, None) or free_port())
    service = cluster.start("roster", await database_factory())
    assert service.port != taken_port
    async with httpx.AsyncClient(timeout=5) as http:
        assert (await http.get(f"{service.url}/ready")).status_code == 200
