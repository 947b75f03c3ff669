"""The operator commands find the stack with the settings `pingan up` runs it with, and say what they read.

A stack moved to other ports (PINGAN_KAFKA_PORT, <SERVICE>_HTTP_PORT, PINGAN_PG_PORT) is the one `pingan
deadletters`, `pingan patrol import`, `pingan roster import-members`, `pingan outbox` and `pingan timers` talk to:
`pingan deadletters` used to read 127.0.0.1:9092 whatever PINGAN_KAFKA_PORT said (and answered "0 dead letters"
from another stack there), and `pingan patrol import` ignored PATROL_HTTP_PORT. Each says on stderr which broker,
service or database it read, and from which setting."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from patrol.bootstrap import bootstrap as patrol_bootstrap
from patrol.live.settings import LiveCoverageSettings
from patrol.settings import PatrolSettings
from pingan_shared.events.catalog import deadletter_topic
from pingan_shared.messaging.kafka import build_producer, ensure_topics
from pingan_shared.settings import PlatformSettings
from pingan_stack import endpoints
from pingan_stack.embedded import free_port
from pingan_stack.stack import options_from_env
from pingan_stack.testing import run_pingan, serving_on_loopback
from pingan_stack.topology import SERVICES
from roster.bootstrap import bootstrap as roster_bootstrap
from roster.settings import RosterSettings

# Settings that would take precedence over a moved port: blanked, whatever the environment running the tests holds.
NOT_ELSEWHERE = {"KAFKA_BOOTSTRAP_SERVERS": "", "DATABASE_URL": "", "PATROL_URL": "", "ROSTER_URL": "",
                 "PATROL_DATABASE_URL": "", "ALERTS_DATABASE_URL": ""}
PATROL, ROSTER = (next(s for s in SERVICES if s.name == name) for name in ("patrol", "roster"))


def loopback_port(address: str) -> str:
    """The port of a loopback address (host:port or a URL): where `pingan up` would have put the server."""
    parts = urlsplit(address if "://" in address else f"//{address}")
    assert parts.hostname in ("127.0.0.1", "localhost"), f"{address} is not on this machine's loopback"
    return str(parts.port)


async def test_deadletters_reads_the_broker_on_pingan_kafka_port(platform_settings: PlatformSettings) -> None:
    port = loopback_port(platform_settings.kafka_bootstrap_servers)
    prefix = platform_settings.kafka_topic_prefix
    topic = prefix + deadletter_topic("roster")
    await ensure_topics(platform_settings.kafka_bootstrap_servers, [topic], partitions=1, replication_factor=1)
    producer = build_producer(platform_settings.kafka_bootstrap_servers, client_id="test")
    await producer.start()
    try:
        await (await producer.send(topic, value=b"junk the roster consumer could not read", key=b"k"))
    finally:
        await producer.stop()

    env = NOT_ELSEWHERE | {"PINGAN_KAFKA_PORT": port, "KAFKA_TOPIC_PREFIX": prefix}
    shown = await asyncio.to_thread(run_pingan, "deadletters", "--service", "roster", env=env)
    assert shown.returncode == 0, shown.stderr
    assert f"pingan deadletters: Kafka at 127.0.0.1:{port} (PINGAN_KAFKA_PORT)" in shown.stderr, shown.stderr
    assert f"roster: 1 dead letter(s) in {topic}" in shown.stdout, shown.stdout
    # --json keeps stdout to JSON lines: what was read is said on stderr only
    as_json = await asyncio.to_thread(run_pingan, "deadletters", "--service", "roster", "--json", env=env)
    assert [json.loads(line)["topic"] for line in as_json.stdout.splitlines()] == [topic]
    assert f"Kafka at 127.0.0.1:{port} (PINGAN_KAFKA_PORT)" in as_json.stderr


def test_deadletters_names_the_moved_port_it_could_not_reach() -> None:
    port = free_port()  # nothing listens there
    done = run_pingan("deadletters", "--timeout", "3", env=NOT_ELSEWHERE | {"PINGAN_KAFKA_PORT": str(port)},
                      timeout=30)
    assert done.returncode == 1, done.stdout
    assert f"cannot reach Kafka at 127.0.0.1:{port}" in done.stderr and "(PINGAN_KAFKA_PORT)" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [("deadletters",), ("outbox", "parked"), ("patrol", "import", "x.csv")])
def test_a_port_that_is_no_port_is_a_usage_error(command: tuple[str, ...], tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("id,tag,name\nCP-1,t,塘下\n", encoding="utf-8")
    bad = {"PINGAN_KAFKA_PORT": "九零九二", "PINGAN_PG_PORT": "54320x", "PATROL_HTTP_PORT": "70000"}
    args = [str(tmp_path / a) if a.endswith(".csv") else a for a in command]
    done = run_pingan(*args, env=NOT_ELSEWHERE | bad)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "configuration error:" in done.stderr and "is not a port number" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


async def test_patrol_import_calls_the_patrol_on_patrol_http_port(
    database_factory: Callable[..., Awaitable[str]], platform_settings: PlatformSettings, tmp_path: Path,
) -> None:
    checkpoints = tmp_path / "checkpoints.csv"
    checkpoints.write_text("id,tag,name,area\nCP-1,nfc-1,塘下镇检查点1,塘下镇\nCP-2,nfc-2,塘下镇检查点2,塘下镇\n",
                           encoding="utf-8")
    database_url = await database_factory(template="patrol+directory")  # the areas are the directory's places
    service = patrol_bootstrap(platform=platform_settings, settings=PatrolSettings(database_url=database_url),
                               live=LiveCoverageSettings(enabled=False))
    async with serving_on_loopback(service) as url:
        port = loopback_port(url)
        done = await asyncio.to_thread(run_pingan, "patrol", "import", str(checkpoints),
                                       env=NOT_ELSEWHERE | {"PATROL_HTTP_PORT": port})
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"pingan patrol import: patrol at http://127.0.0.1:{port} (PATROL_HTTP_PORT)" in done.stderr
        assert "created 2, updated 0, unchanged 0, rejected 0 (of 2 rows)" in done.stdout, done.stdout
        # PATROL_URL (a patrol elsewhere) and --url still come first, and are named as what was read
        by_url = await asyncio.to_thread(run_pingan, "patrol", "import", str(checkpoints),
                                         env=NOT_ELSEWHERE | {"PATROL_URL": url, "PATROL_HTTP_PORT": "9"})
        assert by_url.returncode == 0 and f"patrol at {url} (PATROL_URL)" in by_url.stderr, by_url.stderr
        assert "unchanged 2" in by_url.stdout
        by_option = await asyncio.to_thread(run_pingan, "patrol", "import", str(checkpoints), "--url", url,
                                            env=NOT_ELSEWHERE | {"PATROL_URL": "http://127.0.0.1:9"})
        assert by_option.returncode == 0 and f"patrol at {url} (--url)" in by_option.stderr, by_option.stderr


async def test_roster_import_calls_the_roster_on_roster_http_port(
    tmp_path: Path, platform_settings: PlatformSettings, database_factory: Callable[[], Awaitable[str]],
) -> None:
    members = tmp_path / "members.csv"
    members.write_text("member_id,name,org_id,role\nM001,张三,没有的组织,guard\n", encoding="utf-8")
    service = roster_bootstrap(platform=platform_settings,
                               settings=RosterSettings(database_url=await database_factory()))
    async with serving_on_loopback(service) as url:
        port = loopback_port(url)
        done = await asyncio.to_thread(run_pingan, "roster", "import-members", str(members), "--json",
                                       env=NOT_ELSEWHERE | {"ROSTER_HTTP_PORT": port})
    assert f"pingan roster import-members: roster at http://127.0.0.1:{port} (ROSTER_HTTP_PORT)" in done.stderr
    assert json.loads(done.stdout)["rejected"] == 1, done.stdout + done.stderr  # answered by that roster


@pytest.mark.parametrize("command", [("outbox", "parked", "--service", "patrol"),
                                     ("timers", "retry", "1", "--service", "patrol")])
def test_the_database_commands_say_which_database_they_read(command: tuple[str, ...]) -> None:
    port = free_port()  # no server there: the command still names where it looked
    done = run_pingan(*command, env=NOT_ELSEWHERE | {"PINGAN_PG_PORT": str(port)})
    assert done.returncode == 1
    assert f"patrol: database postgresql://postgres@127.0.0.1:{port}/pingan_patrol (PINGAN_PG_PORT)" in done.stderr
    own = run_pingan(*command, env=NOT_ELSEWHERE | {"PATROL_DATABASE_URL": f"postgresql://ops:pw@127.0.0.1:{port}/p"})
    assert f"patrol: database postgresql://ops:***@127.0.0.1:{port}/p (PATROL_DATABASE_URL)" in own.stderr
    assert "pw@" not in own.stderr


def test_pingan_up_and_the_commands_read_the_same_settings() -> None:
    moved = {"PINGAN_KAFKA_PORT": "19092", "PINGAN_PG_PORT": "15432", "PATROL_HTTP_PORT": "18001",
             "ROSTER_HTTP_PORT": "18002", "ALERTS_METRICS_PORT": "19004"}
    options = options_from_env(Path("unused"), moved)
    assert endpoints.broker(moved) == endpoints.Endpoint(f"127.0.0.1:{options.kafka_port}", "PINGAN_KAFKA_PORT")
    assert endpoints.service_url(PATROL, moved).address == f"http://127.0.0.1:{options.service_ports['patrol']}"
    assert endpoints.service_url(ROSTER, moved).address == "http://127.0.0.1:18002"
    assert endpoints.service_database(PATROL, moved).address == (
        f"postgresql://postgres@127.0.0.1:{options.pg_port}/pingan_patrol")
    assert options.metrics_ports["alerts"] == 19004 and options.external_kafka is None
    external = {"KAFKA_BOOTSTRAP_SERVERS": "kafka-0:9092,kafka-1:9092", "PINGAN_KAFKA_PORT": "19092",
                "DATABASE_URL": "postgresql://ops:pw@db:5432/postgres"}
    options = options_from_env(Path("unused"), external)
    assert endpoints.broker(external).address == options.external_kafka == "kafka-0:9092,kafka-1:9092"
    assert endpoints.service_database(PATROL, external) == endpoints.Endpoint(
        "postgresql://ops:pw@db:5432/pingan_patrol", "DATABASE_URL")
    assert endpoints.broker({}) == endpoints.Endpoint("127.0.0.1:9092", "default; PINGAN_KAFKA_PORT moves it")
