"""The whole city in one test process, for the console's journeys: the four services and the console, each served
by uvicorn on a loopback port of its own, over the session's real embedded PostgreSQL (a fresh database per
service, the services' with the test city's directory) and broker (one topic prefix shared by all, so the services
hear each other's events), on one ``FixedClock`` the test moves.

The console reaches the services over real HTTP (their streams too), as it does in a stack; a browser reaches the
console at ``City.url``. ``City.call`` talks to a service directly as any role would (a patrol device posting
scans, an integration raising an alert, an organiser publishing a roster through the API): a journey's setup and
the other side of what the person in the browser does.

Module-scoped on purpose (``city_of``): one stack starts for a module's journeys, which run on one xdist worker
(``@pytest.mark.browser``, pingan_stack.test_schedule).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from console.bootstrap import bootstrap as console_bootstrap
from console.context import ConsoleContext
from console.domain.accounts import Account
from console.domain.audit import Actor
from console.settings import ConsoleSettings

from alerts.bootstrap import bootstrap as alerts_bootstrap
from alerts.settings import AlertsSettings
from inspection.bootstrap import bootstrap as inspection_bootstrap
from inspection.settings import InspectionSettings
from patrol.bootstrap import bootstrap as patrol_bootstrap
from patrol.live.settings import LiveCoverageSettings
from patrol.settings import PatrolSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.harness import HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS
from pingan_stack.service_harness import answer
from pingan_stack.test_databases import WITH_DIRECTORY, TestDatabases
from pingan_stack.test_tokens import bearer, session_jwks
from pingan_stack.test_topics import delete_topics
from pingan_stack.testing import serving_on_loopback
from pingan_stack.topology import with_database
from roster.bootstrap import bootstrap as roster_bootstrap
from roster.settings import RosterSettings

PASSWORD = "correct horse battery"  # every demo account's: passes the policy
SERVICES = ("patrol", "roster", "inspection", "alerts")
# Cheap argon2 (the hashing tests set their own) and plain-http cookies: the browser opens http://127.0.0.1.
_CONSOLE = {"cookie_secure": False, "password_time_cost": 1, "password_memory_kib": 8192, "password_parallelism": 1}


@dataclass
class City:
    """The running city: where each service and the console answer, the shared clock, and the console's accounts."""

    clock: FixedClock
    platform: PlatformSettings
    urls: dict[str, str]  # service name (and "console") -> base URL
    services: dict[str, Service]
    clients: dict[str, httpx.AsyncClient]  # service name -> a client of its own, for ``call`` (one SSL context each)
    accounts: dict[str, Account] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The console's base URL, which the browser opens."""
        return self.urls["console"]

    @property
    def console(self) -> ConsoleContext:
        ctx: ConsoleContext = self.services["console"].app.state.console
        return ctx

    async def add_account(self, username: str, role: str, *, password: str = PASSWORD,
                          display_name: str | None = None, **scope: str) -> Account:
        """A console account (``scope``: team_id / unit_id / scope / member, as the role needs)."""
        account = await self.console.accounts.create(Actor("test-setup", "127.0.0.1"), username=username,
                                                     display_name=display_name or username, role=role,
                                                     scope=scope, password=password)
        self.accounts[username] = account
        return account

    def token(self, role: Role, subject: str = "tester", *, team: str | None = None, unit: str | None = None,
              scope: str | None = None) -> dict[str, str]:
        """Headers with a token of ``role`` issued at the city's "now" (the services judge it by the same clock)."""
        return bearer(role, subject, team=team, unit=unit, scope=scope, issued_at=self.clock.now())

    async def call(self, service: str, method: str, path: str, headers: Mapping[str, str], *,
                   expect: int | tuple[int, ...] = (200, 201, 202), **kwargs: Any) -> Any:
        """``method path`` on ``service`` directly; the decoded answer once its status is one of ``expect``."""
        return await answer(self.clients[service], method, path, headers, expect=expect, what=f"{service} ",
                            **kwargs)

    async def advance_to(self, moment: datetime) -> None:
        assert moment >= self.clock.now(), "time only moves forward"
        self.clock.set(moment)


def _service(name: str, platform: PlatformSettings, database_url: str, clock: FixedClock,
             live: LiveCoverageSettings | None) -> Service:
    if name == "patrol":
        # the live-coverage stream app is off unless asked for (the board's journeys): the other pages read the record
        return patrol_bootstrap(platform=platform, settings=PatrolSettings(database_url=database_url),
                                clock=clock, live=live or LiveCoverageSettings(enabled=False))
    if name == "roster":
        return roster_bootstrap(platform=platform, settings=RosterSettings(database_url=database_url),
                                clock=clock)
    if name == "inspection":
        return inspection_bootstrap(platform=platform,
                                    settings=InspectionSettings(database_url=database_url), clock=clock)
    return alerts_bootstrap(platform=platform, settings=AlertsSettings(database_url=database_url),
                            clock=clock)


@contextlib.asynccontextmanager
async def running_city(databases: TestDatabases, bootstrap_servers: str, clock: FixedClock, *,
                       photo_store: str | None = None, patrol_live: LiveCoverageSettings | None = None,
                       **console_settings: Any) -> AsyncIterator[City]:
    """The city on fresh databases and a fresh topic prefix; every database and topic goes when it ends.
    ``photo_store``: where the console keeps evidence photos (``file:<a test's tmp directory>``); none given, a
    temporary directory removed with the city. ``patrol_live``: patrol's live-coverage stream app, off if none."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    platform = PlatformSettings(
        pingan_env="test", pingan_auth_jwks=session_jwks(), kafka_bootstrap_servers=bootstrap_servers,
        kafka_topic_prefix=prefix, kafka_topic_partitions=3, kafka_session_timeout_ms=SESSION_TIMEOUT_MS,
        kafka_heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
    )
    created: list[str] = []

    async def database(template: str) -> str:
        name = await databases.create(template)
        created.append(name)
        return with_database(databases.server_url, name)

    urls: dict[str, str] = {}
    services: dict[str, Service] = {}
    try:
        async with contextlib.AsyncExitStack() as stack:
            if photo_store is None:
                photo_store = f"file:{stack.enter_context(tempfile.TemporaryDirectory(prefix='city-photos-'))}"
            for name in SERVICES:
                services[name] = _service(name, platform, await database(name + WITH_DIRECTORY), clock, patrol_live)
            # started side by side: each spends its start waiting on the broker (topics, consumer groups)
            served = await asyncio.gather(*(stack.enter_async_context(serving_on_loopback(services[name]))
                                            for name in SERVICES))
            urls.update(zip(SERVICES, served, strict=True))
            settings = ConsoleSettings(database_url=await database("console"),
                                       **{f"{name}_url": urls[name] for name in SERVICES}, photo_store=photo_store,
                                       **{**_CONSOLE, **console_settings})
            console = console_bootstrap(platform=platform, settings=settings, clock=clock)
            urls["console"] = await stack.enter_async_context(serving_on_loopback(console))
            services["console"] = console
            clients = {name: await stack.enter_async_context(httpx.AsyncClient(base_url=urls[name], timeout=30))
                       for name in SERVICES}
            yield City(clock=clock, platform=platform, urls=urls, services=services, clients=clients)
            for name, service in services.items():
                failure = service.runtime.failure
                if failure is not None:
                    raise AssertionError(f"a background task of {name} died: {failure!r}") from failure
    finally:
        await databases.drop(created)
        await delete_topics(bootstrap_servers, prefix)


async def sign_in(page: Any, city: City, username: str, password: str = PASSWORD) -> None:
    """Sign ``username`` in through the console's sign-in page in ``page`` (a Playwright page), as a person would."""
    await page.goto(f"{city.url}/signin")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("form[action='/signin'] button[type=submit]")
    await page.wait_for_url(lambda url: "/signin" not in url)
