"""`pingan up`: PostgreSQL + broker + databases + topics + the console and the four services, until Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pingan_shared.auth import UnusableKey
from pingan_shared.events.catalog import compacted_topics
from pingan_shared.messaging.kafka import ensure_topics
from pingan_shared.settings import PlatformSettings
from pingan_stack import endpoints
from pingan_stack.databases import ensure_database
from pingan_stack.embedded import EmbeddedKafka, EmbeddedPostgres, EmbeddedServerError, port_is_free
from pingan_stack.processes import ServiceNotReady, ServiceProcess
from pingan_stack.simulate.stack_state import StackState, clear_state, write_state
from pingan_stack.stack_auth import stack_key
from pingan_stack.stack_console import console_env, seed_and_print
from pingan_stack.supervision import RestartBudgetExhausted, Supervised, Supervisor
from pingan_stack.topology import CONSOLE, PROCESSES, all_topics, service_env, with_database


class StackError(RuntimeError):
    pass


# What a restart of the memory-only broker costs, said with it (pingan_shared.messaging.broker_loss does the rest)
BROKER_RESTART_COST = ("the embedded broker keeps everything in memory and comes back empty: each service publishes "
                       "again the events it sent in the last OUTBOX_REPUBLISH_WINDOW_HOURS (24 h; consumers drop "
                       "those they had handled) and patrol's live coverage is rebuilt from the record")


@dataclass
class StackOptions:
    data_dir: Path
    pg_port: int = endpoints.DEFAULT_PG_PORT
    kafka_port: int = endpoints.DEFAULT_KAFKA_PORT
    service_ports: dict[str, int] = field(default_factory=lambda: {s.name: s.default_port for s in PROCESSES})
    metrics_ports: dict[str, int] = field(default_factory=lambda: {s.name: s.default_metrics_port for s in PROCESSES})
    external_database_url: str | None = None  # a server URL; databases pingan_<service> are created on it
    external_kafka: str | None = None
    ready_timeout: float = 60
    max_restarts: int = 5  # in a row for one process, before `pingan up` gives up
    restart_budget_refill_seconds: float = 120  # up this long after a restart: the count starts again


class Stack:
    def __init__(self, options: StackOptions, say: Callable[[str], None] = print) -> None:
        self.options = options
        self.say = say
        self.postgres: EmbeddedPostgres | None = None
        self.kafka: EmbeddedKafka | None = None
        self.services: dict[str, ServiceProcess] = {}
        self._print_lock = threading.Lock()
        self._state_unwritable = False

    # --- start ---------------------------------------------------------------------------
    def check_ports(self) -> None:
        wanted = [(f"{name} ({name.upper()}_HTTP_PORT)", port) for name, port in self.options.service_ports.items()]
        wanted += [(f"{name} metrics ({name.upper()}_METRICS_PORT)", port)
                   for name, port in self.options.metrics_ports.items()]
        if not self.options.external_database_url:
            wanted.append(("PostgreSQL (PINGAN_PG_PORT)", self.options.pg_port))
        if not self.options.external_kafka:
            wanted.append(("Kafka broker (PINGAN_KAFKA_PORT)", self.options.kafka_port))
        taken = [f"{what}: port {port}" for what, port in wanted if not port_is_free("127.0.0.1", port)]
        if taken:
            raise StackError("ports already in use — stop what holds them or choose others:\n  " + "\n  ".join(taken))

    def start(self) -> None:
        started = time.monotonic()
        self.check_ports()
        try:
            issuer = stack_key(self.options.data_dir)
        except UnusableKey as exc:
            raise StackError(f"the token signing key: {exc}") from exc
        self.say(f"Token signing key: {issuer.describe()}; the services get its public JWKS")
        server_url = self._start_postgres()
        bootstrap = self._start_kafka()
        platform = PlatformSettings(kafka_bootstrap_servers=bootstrap)
        asyncio.run(self._prepare(server_url, platform))
        env_common = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap}
        for spec in PROCESSES:
            port, metrics_port = self.options.service_ports[spec.name], self.options.metrics_ports[spec.name]
            env = {**env_common, **issuer.process_env(issues_tokens=spec.issues_tokens),
                   **service_env(spec, database_url=with_database(server_url, spec.database), port=port,
                                 metrics_port=metrics_port)}
            if spec is CONSOLE:
                env |= console_env(self.options.service_ports, self.options.data_dir)
            self.services[spec.name] = ServiceProcess(spec.name, port, env, on_line=self._print_line,
                                                      metrics_port=metrics_port)
        for process in self.services.values():
            process.start()
        try:
            for process in self.services.values():
                process.wait_ready(self.options.ready_timeout)
        except ServiceNotReady as exc:
            raise StackError(str(exc)) from exc
        self.say("")
        for name, process in self.services.items():
            if name == CONSOLE.name:  # first: the address people open
                self.say(f"  {name:<11} {process.url}   ← 在浏览器中打开 open in a browser (metrics "
                         f"{process.metrics_url})")
            else:
                self.say(f"  {name:<11} {process.url}   (docs {process.url}/docs, metrics {process.metrics_url})")
        self.say(f"  postgres    {server_url}")
        self.say(f"  kafka       {bootstrap}")
        if self.postgres is not None:  # the embedded stack only: compose and Kubernetes seed no accounts
            seed_and_print(self.say, with_database(server_url, CONSOLE.database), self.options.data_dir)
        self.write_state()
        self.say(f"Pingan is ready: the console and {len(self.services) - 1} services healthy in "
                 f"{time.monotonic() - started:.1f} s. Ctrl-C stops everything.")

    def _start_postgres(self) -> str:
        if self.options.external_database_url:
            self.say(f"PostgreSQL: external server {endpoints.redact(self.options.external_database_url)}")
            return self.options.external_database_url
        self.say(f"PostgreSQL: embedded, port {self.options.pg_port}, data in {self.options.data_dir / 'pgdata'}")
        self.postgres = EmbeddedPostgres(self.options.data_dir / "pgdata", port=self.options.pg_port)
        self.postgres.start()
        return self.postgres.url

    def _start_kafka(self) -> str:
        if self.options.external_kafka:
            self.say(f"Kafka: external brokers {self.options.external_kafka}")
            return self.options.external_kafka
        self.say(f"Kafka: embedded tansu broker (memory storage), port {self.options.kafka_port}")
        self.kafka = EmbeddedKafka(port=self.options.kafka_port, log_path=self.options.data_dir / "broker.log")
        self.kafka.start()
        return self.kafka.bootstrap_servers

    async def _prepare(self, server_url: str, platform: PlatformSettings) -> None:
        for spec in PROCESSES:
            if await ensure_database(server_url, spec.database):
                self.say(f"  created database {spec.database}")
        await ensure_topics(platform.kafka_bootstrap_servers, all_topics(platform.kafka_topic_prefix),
                            partitions=platform.kafka_topic_partitions,
                            replication_factor=platform.kafka_replication_factor,
                            compacted=compacted_topics(platform.kafka_topic_prefix))
        self.say(f"  topics ready: {', '.join(all_topics(platform.kafka_topic_prefix))}")
        self.say("  migrations: each service applies its own on start (checked by /ready)")

    def _print_line(self, service: str, line: str) -> None:
        with self._print_lock:
            sys.stdout.write(f"{service:<10} | {line}\n")
            sys.stdout.flush()

    # --- run and stop ----------------------------------------------------------------------
    def supervise(self, stop: threading.Event) -> None:
        """Restart PostgreSQL, the broker or a service that dies (servers first, with backoff), until asked
        to stop. The services reconnect to a restarted server by themselves."""
        supervisor = Supervisor(self._supervised(), say=self.say, max_restarts=self.options.max_restarts,
                                healthy_after=self.options.restart_budget_refill_seconds)
        while not stop.wait(0.5):
            try:
                supervisor.check()
            except RestartBudgetExhausted as exc:
                raise StackError(str(exc)) from exc
            self.write_state()

    def write_state(self) -> None:
        """``<data dir>/stack.json``: each process's pid and URL and the clock, for `pingan simulate` (its chaos
        kills by pid; its clock must be the services'). Written again whenever a restart changes a pid."""
        pids = {name: p.process.pid if p.process and p.running else None for name, p in self.services.items()}
        urls = {name: p.url for name, p in self.services.items()}
        if self.postgres is not None:
            pids["postgres"] = self.postgres.process.pid if self.postgres.process and self.postgres.running else None
            urls["postgres"] = self.postgres.url
        if self.kafka is not None:
            pids["kafka"] = self.kafka.process.pid if self.kafka.process and self.kafka.running else None
            urls["kafka"] = self.kafka.bootstrap_servers
        try:
            write_state(self.options.data_dir, StackState(pids=pids, urls=urls, clock_scale=_env_float(
                "PINGAN_CLOCK_SCALE", 1.0), clock_epoch=os.environ.get("PINGAN_CLOCK_EPOCH") or None,
                supervisor_pid=os.getpid()))
        except OSError as exc:  # a note for other commands: never a reason to stop the stack
            if not self._state_unwritable:
                self.say(f"could not write {self.options.data_dir}/stack.json (pingan simulate needs it): {exc}")
            self._state_unwritable = True

    def _supervised(self) -> list[Supervised]:
        items = []
        if self.postgres is not None:
            postgres = self.postgres
            items.append(Supervised("PostgreSQL", running=lambda: postgres.running,
                                    exit_code=lambda: _exit_code(postgres.process), restart=postgres.restart))
        if self.kafka is not None:
            kafka = self.kafka
            items.append(Supervised("Kafka broker", running=lambda: kafka.running,
                                    exit_code=lambda: _exit_code(kafka.process), restart=kafka.restart,
                                    settle=self._create_topics, note=BROKER_RESTART_COST))
        return items + [_supervised_service(process) for process in self.services.values()]

    def _create_topics(self) -> None:
        """The embedded broker keeps topics in memory: a restarted one needs them created again. The
        supervisor retries this until it succeeds (the broker process may be up before it answers)."""
        assert self.kafka is not None
        platform = PlatformSettings(kafka_bootstrap_servers=self.kafka.bootstrap_servers)
        asyncio.run(ensure_topics(platform.kafka_bootstrap_servers, all_topics(platform.kafka_topic_prefix),
                                  partitions=platform.kafka_topic_partitions,
                                  replication_factor=platform.kafka_replication_factor,
                                  compacted=compacted_topics(platform.kafka_topic_prefix)))

    def stop(self) -> None:
        for process in self.services.values():
            process.stop()
        if self.kafka:
            self.kafka.stop()
        if self.postgres:
            self.postgres.stop()


def _supervised_service(process: ServiceProcess) -> Supervised:
    return Supervised(process.name, running=lambda: process.running, exit_code=lambda: _exit_code(process.process),
                      restart=process.start)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


def _exit_code(process: subprocess.Popen[Any] | None) -> int | None:
    return None if process is None else process.poll()


def run_up(options: StackOptions) -> int:
    stack = Stack(options)
    stop = threading.Event()

    def _on_signal(signum: int, _: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        options.data_dir.mkdir(parents=True, exist_ok=True)
        stack.start()
        stack.supervise(stop)
        print("\nStopping Pingan…", flush=True)
        return 0
    except (StackError, EmbeddedServerError) as exc:
        print(f"pingan up: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        stack.stop()
        clear_state(options.data_dir)
        print("Stopped.", flush=True)


def options_from_env(data_dir: Path, environ: Mapping[str, str] = os.environ) -> StackOptions:
    """The stack the environment asks for, read by ``pingan_stack.endpoints`` as every operator command reads it
    (raises ``EndpointError`` for a setting that names no port)."""
    return StackOptions(
        data_dir=data_dir,
        pg_port=endpoints.pg_port(environ),
        kafka_port=endpoints.kafka_port(environ),
        service_ports={s.name: endpoints.http_port(s, environ) for s in PROCESSES},
        metrics_ports={s.name: endpoints.metrics_port(s, environ) for s in PROCESSES},
        external_database_url=endpoints.external_database_server(environ),
        external_kafka=endpoints.external_kafka(environ),
    )
