"""The operator's pages (admins): the alerts contacts directory (``contacts``), delivery dead letters
(``dead_letters``), each service's platform dead letters (``platform_dead_letters``), and each service's parked outbox
rows and failed timers (``machinery``). The services' readiness is the core's ``readiness`` page, linked from here."""

from fastapi import APIRouter

from console.pages.operations import contacts, dead_letters, machinery, platform_dead_letters

router = APIRouter(include_in_schema=False)
for _module in (contacts, dead_letters, platform_dead_letters, machinery):
    router.include_router(_module.router)

MENU = [*contacts.MENU, *dead_letters.MENU, *platform_dead_letters.MENU, *machinery.MENU]
