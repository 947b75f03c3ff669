"""Builds the console: every dependency wired here, nothing connects until start.

The console produces and consumes no events (it talks to the services over HTTP), so its runtime starts no broker
client; it has a database of its own (accounts, sessions, audit, the sign-in throttle) and the issuer's signing key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import httpx

from console import housekeeping
from console.accounts import AccountBook
from console.api import router as api_router
from console.context import ConsoleContext
from console.domain.passwords import PasswordHashing
from console.domain.sessions import SessionLimits
from console.domain.throttle import ThrottleRule
from console.pages import PAGES
from console.services import ServiceClients
from console.settings import SERVICE_NAMES, ConsoleSettings
from console.signin import Gatekeeper
from console.tokens import TokenMinter
from console.web.app import create_console_app
from pingan_shared.auth import SigningKey, signing_key_from_settings
from pingan_shared.clock import Clock, SystemClock
from pingan_shared.service import Service, ServiceRuntime
from pingan_shared.settings import PlatformSettings


def bootstrap(
    *, platform: PlatformSettings | None = None, settings: ConsoleSettings | None = None, clock: Clock | None = None,
    wall: Clock | None = None, signing_key: SigningKey | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> Service:
    """``clock``: the services' clock, which tokens are issued on (from the platform settings unless given);
    ``wall``: real time, for sessions, the throttle and the audit trail (``clock`` when a test gives one, so the
    test moves both). ``signing_key``: a test's own; otherwise ``PINGAN_AUTH_SIGNING_KEY_FILE``'s (raises
    ``UnusableKey`` saying what is missing). ``transports``: a test's way to the services without the network."""
    settings = settings or ConsoleSettings()
    runtime = ServiceRuntime.for_service("console", settings, platform=platform, clock=clock)
    platform = runtime.platform
    wall = wall or clock or SystemClock()
    key = signing_key or signing_key_from_settings(platform)
    minter = TokenMinter(key, runtime.clock,
                         ttl=timedelta(minutes=settings.service_token_minutes * platform.pingan_clock_scale),
                         audience=getattr(platform, "pingan_auth_audience", None))
    hashing = PasswordHashing(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib,
                              parallelism=settings.password_parallelism)
    window = timedelta(minutes=settings.throttle_window_minutes)
    gate = Gatekeeper(
        runtime, hashing, wall,
        limits=SessionLimits(idle=timedelta(minutes=settings.session_idle_minutes),
                             absolute=timedelta(hours=settings.session_absolute_hours)),
        account_rule=ThrottleRule(settings.throttle_account_failures, window),
        address_rule=ThrottleRule(settings.throttle_address_failures, window),
        zone=platform.timezone,
    )
    services = ServiceClients({name: settings.service_url(name) for name in SERVICE_NAMES}, minter,
                              timeout_seconds=settings.service_timeout_seconds, transports=transports or {})
    ctx = ConsoleContext(runtime, settings, wall=wall, accounts=AccountBook(runtime, hashing, wall), gate=gate,
                         services=services, minter=minter, photos=settings.photo_store_instance())
    runtime.background = {"housekeeping-sessions": lambda: housekeeping.run(gate)}
    app = create_console_app(ctx, PAGES, api_router)
    return Service(runtime, app)
