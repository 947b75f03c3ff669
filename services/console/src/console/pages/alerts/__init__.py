"""The supervisors' alert pages (and the units' and admins'): the inbox with a live unread count (``inbox``,
``live``), the alerts and each one's ladder and timeline with acknowledgement and resolution (``detail``),
silences, policies (``policies`` + ``policy_form``) and the auditor's findings. Every read and change goes to the
alerts service as the signed-in person, which decides what each may see.

One router for the area: ``detail`` comes last, so that its ``/alerts/{id}`` follows every fixed path.
"""

from fastapi import APIRouter

from console.pages.alerts import auditor, detail, inbox, live, policies, silences

router = APIRouter(include_in_schema=False)
for _module in (live, inbox, silences, policies, auditor, detail):
    router.include_router(_module.router)

MENU = [*inbox.MENU, *silences.MENU, *policies.MENU, *auditor.MENU]
