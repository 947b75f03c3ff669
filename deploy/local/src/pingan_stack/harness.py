"""Services as separate processes against given servers: for end-to-end tests, fault tests and bench."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pingan_shared.clock import ScaledClock
from pingan_stack.embedded import free_port
from pingan_stack.processes import ServiceNotReady, ServiceProcess
from pingan_stack.topology import SERVICES, ServiceSpec, service_env

# The consumer groups' session in tests: a member that leaves is noticed within 2 s. It also sets how long tansu
# holds a group's first JoinGroup (about half the session, at least 1 s: 2 s at 3 s, 1 s at 2 s), which every test
# that starts a service waits for once per consumer group.
SESSION_TIMEOUT_MS = 2_000
HEARTBEAT_INTERVAL_MS = 500
PORT_ATTEMPTS = 3  # starts of one service on newly picked ports, when the ports picked were taken meanwhile


@dataclass
class ProcessCluster:
    """Starts ``python -m <service>`` processes sharing a broker, a topic prefix and a clock setting."""

    kafka_bootstrap_servers: str
    topic_prefix: str
    platform_env: Mapping[str, str] = field(default_factory=dict)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def compressed_clock(self, scale: float) -> ScaledClock:
        """Run the processes started from now on in compressed time, anchored now, and return the same clock for
        the test (tokens, waits): every process and the test then agree on "now"."""
        epoch = datetime.now(UTC).replace(microsecond=0)
        self.platform_env = {**self.platform_env, "PINGAN_CLOCK_SCALE": str(scale),
                             "PINGAN_CLOCK_EPOCH": epoch.isoformat()}
        return ScaledClock(scale, epoch=epoch)

    def start(self, name: str, database_url: str, *, ready_timeout: float = 60, replica: str = "",
              env: Mapping[str, str] | None = None) -> ServiceProcess:
        """Start service ``name``; a ``replica`` suffix runs another instance (same database and group); ``env``
        adds to or overrides its environment (e.g. ``PATROL_RUN_CONSUMERS``)."""
        spec = next(s for s in SERVICES if s.name == name)
        # a port free when picked can be taken by another test's process before this one binds it: the service then
        # exits at once saying so, and starts again on other ports
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                process = self._start_once(spec, database_url, ready_timeout, env)
                break
            except ServiceNotReady as exc:
                if attempt == PORT_ATTEMPTS or "already in use" not in str(exc):  # its own check, or the bind
                    raise
        self.processes[name + replica] = process
        return process

    def _start_once(self, spec: ServiceSpec, database_url: str, ready_timeout: float,
                    env: Mapping[str, str] | None) -> ServiceProcess:
        port, metrics_port = free_port(), free_port()
        env = {
            "PINGAN_ENV": "test",
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "KAFKA_TOPIC_PREFIX": self.topic_prefix,
            "KAFKA_TOPIC_PARTITIONS": "3",
            "KAFKA_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
            "KAFKA_HEARTBEAT_INTERVAL_MS": str(HEARTBEAT_INTERVAL_MS),
            "PINGAN_LOG_LEVEL": "WARNING",
            **self.platform_env,
            **service_env(spec, database_url=database_url, port=port, metrics_port=metrics_port),
            **(env or {}),
        }
        process = ServiceProcess(spec.name, port, env, metrics_port=metrics_port)
        process.start()
        process.wait_ready(ready_timeout)
        return process

    def restart(self, key: str, *, ready_timeout: float = 60) -> ServiceProcess:
        """Start a stopped or killed service (or replica) again on the same ports and database."""
        old = self.processes[key]
        process = ServiceProcess(old.name, old.port, old.env, metrics_port=old.metrics_port)
        process.start()
        process.wait_ready(ready_timeout)
        self.processes[key] = process
        return process

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.stop()
