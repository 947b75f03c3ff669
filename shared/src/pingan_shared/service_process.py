"""A service as an operating-system process (``python -m <service>``): its configuration checked, its ports (API
and metrics) checked, then its app served by uvicorn on uvloop until SIGTERM/SIGINT, and the exit status saying how
it ended."""

from __future__ import annotations

import asyncio
import errno
import socket
import sys
from collections.abc import Callable

import uvicorn
from pydantic import ValidationError

from pingan_shared.auth import AuthConfigurationError
from pingan_shared.http.unparsable import BilingualHttpToolsProtocol
from pingan_shared.logs import configure_logging, get_logger
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings, explain

log = get_logger(__name__)


class PortInUse(RuntimeError):
    pass


def check_port_free(host: str, port: int, setting_name: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(f"port {port} on {host} is already in use (set {setting_name})") from exc
            raise


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:  # Windows has no uvloop (the dependency is skipped there): the standard loop
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def _prefix(port_setting: str) -> str:
    return port_setting.removesuffix("HTTP_PORT")


def run_service(build: Callable[[], Service], port_setting: str) -> None:
    """Entry point of ``python -m <service>``: build, check the ports, serve until SIGTERM/SIGINT. ``port_setting``
    names the API port's variable (``PATROL_HTTP_PORT``); the metrics port's is the same prefix's ``METRICS_PORT``."""
    try:
        service = build()
    except ValidationError as exc:  # refuse to start, say why
        # platform settings are unprefixed; a service's own carry its prefix (PATROL_HTTP_PORT)
        prefix = "" if exc.title == PlatformSettings.__name__ else _prefix(port_setting)
        print(f"configuration error: {explain(exc, prefix)}", file=sys.stderr)
        sys.exit(2)
    except AuthConfigurationError as exc:  # no issuer's public key to verify tokens with
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    runtime, app = service.runtime, service.app
    configure_logging(runtime.name, runtime.platform.pingan_log_level)
    settings = runtime.settings
    try:
        if settings.http_port:
            check_port_free(settings.http_host, settings.http_port, port_setting)
        if settings.metrics_port:
            check_port_free(settings.metrics_host, settings.metrics_port, f"{_prefix(port_setting)}METRICS_PORT")
    except PortInUse as exc:
        log.error("cannot start", reason=str(exc))
        print(f"{runtime.name}: {exc}", file=sys.stderr)
        sys.exit(2)
    # httptools parses HTTP and uvloop runs the loop (both C): a service process is one event loop serving
    # intake, the relay and the consumers, so the loop's own cost per request and per round trip is the
    # ceiling of its throughput. Tests in-process run on pytest's plain asyncio loop; processes run on this.
    config = uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_config=None,
                            access_log=False, lifespan="on", http=BilingualHttpToolsProtocol)
    server = uvicorn.Server(config)
    with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        runner.run(server.serve())
    if runtime.failure is not None or not server.started:
        sys.exit(1)
