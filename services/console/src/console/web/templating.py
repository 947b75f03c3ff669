"""The Jinja2 environment of every page: autoescaped (a finding's text holding ``<script>`` is shown, never run),
templates from ``console/templates`` (``<area>/<page>.html`` beside ``base.html`` and the ``macros/``), and what a
template may call:

* ``t(key)``, ``pick(zh, en)``, ``label((zh, en))``: texts in the person's language (``web.i18n``);
* ``static(path)``: the URL of a file in ``console/static``;
* ``role_label(role)``: a role's name;
* ``|when``: an instant (datetime or ISO 8601 text) as local ``YYYY-MM-DD HH:MM``; ``|day``: its date.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi.templating import Jinja2Templates

from console.domain.accounts import ROLE_LABELS
from console.web.i18n import pick, translate
from pingan_shared.auth import Role


def build_templates(zone: ZoneInfo) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("console", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the page in tests, not silently renders nothing
        trim_blocks=True,
        lstrip_blocks=True,
    )

    @jinja2.pass_context
    def t(context: Any, key: str) -> str:
        return translate(context["lang"], key)

    @jinja2.pass_context
    def pick_text(context: Any, zh: str, en: str) -> str:
        return pick(context["lang"], zh, en)

    @jinja2.pass_context
    def label(context: Any, pair: tuple[str, str] | None) -> str:
        return "" if pair is None else pick(context["lang"], *pair)

    @jinja2.pass_context
    def role_label(context: Any, role: Role | str) -> str:
        try:
            pair = ROLE_LABELS[Role(role)]
        except (KeyError, ValueError):
            return str(role)
        return pick(context["lang"], *pair)

    def when(value: datetime | str | None) -> str:
        moment = _instant(value)
        return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def day(value: datetime | str | None) -> str:
        moment = _instant(value)
        return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d")

    env.globals.update(t=t, pick=pick_text, label=label, role_label=role_label,
                       static=lambda path: f"/static/{path}")
    env.filters.update(when=when, day=day)
    return Jinja2Templates(env=env)


def _instant(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
