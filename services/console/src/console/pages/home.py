"""The landing page after sign-in: who you are, your role and scope, and the work your menu holds, as cards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from console.domain.accounts import PERSON_ROLES
from console.web.i18n import messages
from console.web.menu import MenuItem
from console.web.pages import Person, render, require

router = APIRouter(include_in_schema=False)

messages({
    "home.title": ("工作台", "Workbench"),
    "home.welcome": ("您好", "Hello"),
    "home.nothing": ("您的角色暂无可用功能，请联系管理员。", "Nothing is open to your role yet; ask an administrator."),
})

MENU = [MenuItem("/", "工作台", "Workbench", section="home", roles=frozenset(PERSON_ROLES), order=0)]


@router.get("/")
async def home(request: Request, person: Annotated[Person, Depends(require())]) -> Response:
    return render(request, "home/home.html", person)
