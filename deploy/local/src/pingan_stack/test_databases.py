"""Fresh databases for tests, made from migrated templates.

A test that starts a service wants that service's tables, and migrating a new database for every test repeats
the same work hundreds of times. ``TestDatabases`` migrates one template per set of migrations (a service's, or
the platform tables alone) once per server, then makes each test's database with ``CREATE DATABASE … TEMPLATE``,
and drops every database it made when asked.

A template is built under a name of its own and renamed into place when complete, so a second process on the
same server (another xdist worker on a shared external server) either finds the finished template or builds its
own and loses the rename harmlessly. Its name carries a hash of the migrations, so a changed migration gets a new
template instead of a stale one.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

import asyncpg

from pingan_shared.db.migrations import Migration, apply_migrations, load_migrations, platform_migrations
from pingan_stack.databases import quoted
from pingan_stack.sample_directory import seed_directory
from pingan_stack.topology import with_database

# A template named ``<service>+directory`` is the service's with the test city in its copy of the directory.
WITH_DIRECTORY = "+directory"


def migrations_of(template: str) -> list[Migration]:
    """The migrations a template holds: ``platform`` (outbox, inbox, timers) or a service's on top of them."""
    template = template.removesuffix(WITH_DIRECTORY)
    if template == "platform":
        return platform_migrations()
    return [*platform_migrations(), *load_migrations(template, template)]


class TestDatabases:
    """Makes and drops the databases of a test session on one PostgreSQL server."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self._templates: dict[str, str] = {}  # template key -> database name

    async def create(self, template: str | None = None) -> str:
        """A new database (its name), empty or a copy of ``template``'s migrated template."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        source = "template0" if template is None else await self._template(template)
        conn = await asyncpg.connect(self.server_url)
        try:
            await conn.execute(f"CREATE DATABASE {quoted(name)} ENCODING 'UTF8' TEMPLATE {quoted(source)}")
        finally:
            await conn.close()
        return name

    async def url(self, template: str | None = None) -> str:
        return with_database(self.server_url, await self.create(template))

    async def drop(self, names: Sequence[str]) -> None:
        if not names:
            return
        conn = await asyncpg.connect(self.server_url)
        try:
            for name in names:
                await conn.execute(f"DROP DATABASE IF EXISTS {quoted(name)} WITH (FORCE)")
        finally:
            await conn.close()

    async def drop_templates(self) -> None:
        await self.drop(list(self._templates.values()))
        self._templates.clear()

    async def _template(self, template: str) -> str:
        known = self._templates.get(template)
        if known is not None:
            return known
        migrations = migrations_of(template)
        digest = hashlib.sha256("".join(f"{m.component}/{m.version}:{m.checksum}" for m in migrations).encode())
        seeded = template.endswith(WITH_DIRECTORY)
        name = f"tpl_{template.removesuffix(WITH_DIRECTORY)}{'_dir' if seeded else ''}_{digest.hexdigest()[:12]}"
        conn = await asyncpg.connect(self.server_url)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                building = f"{name}_{uuid.uuid4().hex[:6]}"
                await conn.execute(f"CREATE DATABASE {quoted(building)} ENCODING 'UTF8' TEMPLATE template0")
                target = await asyncpg.connect(with_database(self.server_url, building))
                try:
                    await apply_migrations(target, migrations)
                    if seeded:
                        await seed_directory(target)
                finally:
                    await target.close()
                try:
                    await conn.execute(f"ALTER DATABASE {quoted(building)} RENAME TO {quoted(name)}")
                except asyncpg.DuplicateDatabaseError:  # another process finished the same template first
                    await conn.execute(f"DROP DATABASE {quoted(building)}")
        finally:
            await conn.close()
        self._templates[template] = name
        return name
