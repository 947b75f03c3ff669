"""Each service's OpenAPI tells the truth: schemathesis (``--checks all``) finds no failure against it.

The service runs in this process on a loopback port (uvicorn, its runtime on a fresh database and the test
broker); the schemathesis CLI runs beside it and reads ``/openapi.json`` from it. Each operation is called with
a token of a role it allows (the role names in the operation's security requirement), and schemathesis also tries every
secured operation without and with broken credentials (its ``ignored_auth`` check).

Run time: deterministic generation (the same cases every run). The coverage phase, which walks every boundary and
every kind of wrong value the schema defines, is most of the cases and the cheaper part (roster: 2,400 cases in
12 s of CPU, both processes); the random phases cost ten times as much a case, so they get ``MAX_EXAMPLES`` cases per
operation and mode (at 10 rather than 5, roster took 26 s of CPU rather than 20).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from pingan_shared.auth import Role
from pingan_shared.http.openapi import allowed_roles
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings, ServiceSettings
from pingan_stack.testing import bearer, serving_on_loopback
from pingan_stack.topology import SERVICES

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow

MAX_EXAMPLES = 5
# A patrol device belongs to a team; the other roles need nothing beyond the role.
TEAM = "一队"
UNIT = "安阳街道"


def token_for(roles: list[str]) -> str:
    role = Role(roles[0])
    header = bearer(role, "schemathesis", team=TEAM if role is Role.PATROL_DEVICE else None,
                    unit=UNIT if role is Role.UNIT else None)
    return header["Authorization"].removeprefix("Bearer ")


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


# Operations whose well-formed requests the service may still refuse by rules no schema can state; without
# this, schemathesis' positive_data_acceptance check would call each such refusal a failure.
BUSINESS_RULE_REFUSALS = {
    # a scan of an unknown checkpoint or tag, for another team, or with a device time out of range: 422
    "POST /v1/scans": ["422"],
    # patrol: a checkpoint in an area the directory does not hold: 422
    "POST /v1/checkpoints": ["422"],
    # a cycle whose scope names units that are not registered: 422
    "POST /v1/cycles": ["422"],
    # a unit whose supervising_unit_id is not registered (or is its own id): 422
    "POST /v1/units": ["422"],
    # alerts: a policy naming a target the contacts directory cannot reach on its step's channels: 422
    "POST /v1/policies": ["422"],
    "PUT /v1/policies/{policy_id}": ["422"],
    # alerts: a silence that ends before it starts, is already over, or names a place the directory does not hold
    "POST /v1/silences": ["422"],
    # roster's directory: an entry whose parent is unknown or not a place of a higher level, a code's kind changed
    "PUT /v1/directory/entries/{code}": ["422"],
    # inspection: a holiday notice naming a day of another year, or a day both off and on: 422
    "PUT /v1/working-calendar/{year}": ["422"],
    # alerts contacts: a member not in the directory, an inbox subject another contact owns, rotating to a secret
    # the contact already has: 422
    "PUT /v1/contacts/{target}": ["422"],
    "POST /v1/contacts/{target}/webhook-secret": ["422"],
    # patrol: a plan on an unknown route, whose window_end equals its window_start, that ends before it starts or
    # whose interval outlasts its window; a route naming unknown checkpoints; import rows refused by such rules: 422
    "POST /v1/plans": ["422"],
    "POST /v1/routes": ["422"],
    "PUT /v1/routes/{route_id}": ["422"],
    "POST /v1/import": ["422"],
    # alerts: a signal whose dedup key is outside the sender's namespace (its token's subject), whose kind is a
    # platform service's, or whose place the directory does not hold: 422
    "POST /v1/events": ["422"],
    # patrol: a hazard whose reported_at lies beyond the allowed future skew or before the offline window: 422
    "POST /v1/hazards": ["422"],
    # roster: a duty whose area or team the directory does not hold, or whose shift ids would be taken or too long
    "POST /v1/periods/{period_id}/duties": ["422"],
    # roster: an organisation whose area the directory does not hold
    "POST /v1/organisations": ["422"],
    "PUT /v1/organisations/{org_id}": ["422"],
}
POSITIVE_DATA_ACCEPTANCE_DEFAULT = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
# 413 refuses a schema-violating request too: a batch over its documented maxItems is "too large", as documented.
NEGATIVE_DATA_REJECTION = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]


def schemathesis_config(openapi: dict[str, Any]) -> str:
    """One ``[[operations]]`` entry per secured operation: a bearer token of a role it allows."""
    schemes = openapi.get("components", {}).get("securitySchemes", {})
    lines = ["[checks.negative_data_rejection]", f"expected-statuses = {json.dumps(NEGATIVE_DATA_REJECTION)}", ""]
    for name, statuses in BUSINESS_RULE_REFUSALS.items():
        method, path = name.split(" ", 1)
        if method.lower() in openapi["paths"].get(path, {}):
            lines += [
                "[[operations]]",
                f"include-name = {toml_string(name)}",
                "[operations.checks.positive_data_acceptance]",
                f"expected-statuses = {json.dumps(POSITIVE_DATA_ACCEPTANCE_DEFAULT + statuses)}",
                "",
            ]
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            roles = allowed_roles(operation)
            for requirement in operation.get("security", []):
                for scheme in requirement:
                    assert schemes[scheme]["scheme"] == "bearer" and roles, (path, method)
                    lines += [
                        "[[operations]]",
                        f"include-name = {toml_string(f'{method.upper()} {path}')}",
                        f"headers = {{ Authorization = {toml_string('Bearer ' + token_for(roles))} }}",
                        "",
                    ]
    return "\n".join(lines)


# Every service serves the directory's reads from one shared router (pingan_shared.http.directory) over the same
# table: fuzzed on roster, its owner, and left out on the other three, where they would be the same cases again
# (about twenty seconds each of a suite kept under five minutes). So are the admins' operations routes
# (pingan_shared.http.operations: parked outbox rows, failed timers), the same code over the same platform tables.
SHARED_DIRECTORY_READS = r"^/v1/(directory/entries|operations/)"
DIRECTORY_OWNER = "roster"


async def run_schemathesis(base_url: str, config: Path, *, exclude: list[str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color",
        "run", f"{base_url}/openapi.json", *exclude,
        "--checks", "all", "--max-examples", str(MAX_EXAMPLES), "--generation-deterministic",
        "--workers", "1", "--request-timeout", "30", "--suppress-health-check", "all",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


def build(name: str, platform: PlatformSettings, database_url: str) -> Service:
    bootstrap = importlib.import_module(f"{name}.bootstrap").bootstrap
    settings_module = importlib.import_module(f"{name}.settings")
    settings_class = next(  # the service's own (a module may import other settings, the console its photos')
        v for k, v in vars(settings_module).items()
        if k.endswith("Settings") and k != "ServiceSettings" and isinstance(v, type) and issubclass(v, ServiceSettings)
        and v.__module__ == settings_module.__name__
    )
    service: Service = bootstrap(platform=platform, settings=settings_class(database_url=database_url))
    return service


# the console's JSON endpoints too (health, readiness, its JWKS): its pages are HTML, tried by the browser journeys
@pytest.mark.parametrize("name", [*(s.name for s in SERVICES), "console"])
async def test_schemathesis_finds_no_failure(
    name: str, platform_settings: PlatformSettings, database_factory: Callable[[], Awaitable[str]],
    tmp_path: Path,
) -> None:
    service = build(name, platform_settings, await database_factory())
    async with serving_on_loopback(service) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            openapi = (await client.get("/openapi.json")).json()
        config = tmp_path / "schemathesis.toml"
        config.write_text(schemathesis_config(openapi), encoding="utf-8")
        exclude = [] if name == DIRECTORY_OWNER else ["--exclude-path-regex", SHARED_DIRECTORY_READS]
        code, report = await run_schemathesis(base_url, config, exclude=exclude)
    # a background loop that died under the fuzzing fails the service, as a crash would
    assert service.runtime.failure is None, f"a background task died: {service.runtime.failure!r}"
    assert code == 0, f"schemathesis failed against {name} (exit {code}):\n{report[-20_000:]}"
    assert "No issues found" in report or "passed" in report, report[-5_000:]
