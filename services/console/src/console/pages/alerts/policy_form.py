"""A policy's ladder as an HTML form and back: one row of fields per step (``steps.<i>.label``, ``.delay_minutes``,
``.targets`` one per line, a checkbox per channel, ``.requires_all_acks``, ``.ack_timeout_minutes``), a few empty
rows for new steps. Delays are typed in minutes (the API takes seconds; a ladder is read in hours and days).

Empty rows are left out of the request, so the API's step ``j`` is the form's row ``i``: ``field_map`` sends each of
its refusals (``body.steps.2.targets.0``) back to the row the person typed it in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from console.web.forms import Form
from console.web.i18n import translate

CHANNELS = ("inbox", "stream", "email", "webhook")
HEAD_FIELDS = ("name", "kind", "scope_unit", "scope_area", "repeat")
STEP_FIELDS = ("label", "delay_minutes", "targets", "channels", "requires_all_acks", "ack_timeout_minutes")
MAX_STEPS = 20  # the API's
EMPTY_ROWS = 2
_SPLIT = re.compile(r"[\s,，、;；]+")


def fields(rows: int) -> tuple[str, ...]:
    step_fields = [f"steps.{i}.{name}" for i in range(rows) for name in STEP_FIELDS]
    checkboxes = [f"steps.{i}.channel.{c}" for i in range(rows) for c in CHANNELS]
    return (*HEAD_FIELDS, *step_fields, *checkboxes)


def rows_of(submitted: Mapping[str, object]) -> int:
    """How many step rows the submitted form had (its hidden ``rows``), within bounds."""
    raw = submitted.get("rows")
    return max(1, min(int(raw), MAX_STEPS + EMPTY_ROWS)) if isinstance(raw, str) and raw.isdigit() else 1


def _minutes(seconds: object) -> str:
    if not isinstance(seconds, int | float) or seconds is True:
        return ""
    return f"{seconds / 60:g}"


def form_from_policy(policy: Mapping[str, Any] | None) -> tuple[Form, int]:
    """The form for ``policy`` (a stored one, a built-in ladder, or None for a new one) and its number of rows."""
    policy = policy or {}
    steps: Sequence[Mapping[str, Any]] = policy.get("steps") or []
    rows = min(len(steps) + EMPTY_ROWS, MAX_STEPS + EMPTY_ROWS)
    values = {name: str(policy.get(name) or "") for name in HEAD_FIELDS}
    values["repeat"] = str(policy.get("repeat", 0))
    for i, step in enumerate(steps):
        values[f"steps.{i}.label"] = str(step.get("label") or "")
        values[f"steps.{i}.delay_minutes"] = _minutes(step.get("delay_seconds", 0))
        values[f"steps.{i}.targets"] = "\n".join(step.get("targets") or [])
        values[f"steps.{i}.ack_timeout_minutes"] = _minutes(step.get("ack_timeout_seconds"))
        if step.get("requires_all_acks"):
            values[f"steps.{i}.requires_all_acks"] = "1"
        for channel in step.get("channels") or []:
            values[f"steps.{i}.channel.{channel}"] = "1"
    return Form(fields=fields(rows), values=values), rows


def _seconds(form: Form, name: str, lang: str, *, required: bool) -> int | None:
    text = form.value(name).strip()
    if not text:
        if required:
            form.error(name, translate(lang, "policies.minutes_required"))
        return None
    try:
        minutes = float(text)
    except ValueError:
        minutes = -1.0
    if not 0 <= minutes <= 366 * 24 * 60:
        form.error(name, translate(lang, "policies.minutes_invalid"))
        return None
    return round(minutes * 60)


def body_from_form(form: Form, rows: int, lang: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's policy body from the form, and the map from the API's field names to the form's. What the console
    can tell at once (a delay that is not a number) is put on the form as an error."""
    steps: list[dict[str, Any]] = []
    field_map: dict[str, str] = {"body.repeat": "repeat", "body.name": "name", "body.kind": "kind",
                                 "body.scope_unit": "scope_unit", "body.scope_area": "scope_area"}
    for i in range(rows):
        row = f"steps.{i}"
        label = form.value(f"{row}.label").strip()
        targets = [t for t in _SPLIT.split(form.value(f"{row}.targets")) if t]
        channels = [c for c in CHANNELS if form.value(f"{row}.channel.{c}") == "1"]
        if not label and not targets and not form.value(f"{row}.delay_minutes").strip():
            continue  # an empty row
        j = len(steps)
        api = f"body.steps.{j}"
        field_map.update({f"{api}.label": f"{row}.label", f"{api}.delay_seconds": f"{row}.delay_minutes",
                          f"{api}.targets": f"{row}.targets", f"{api}.targets.": f"{row}.targets",
                          f"{api}.channels": f"{row}.channels", f"{api}.channels.": f"{row}.channels",
                          f"{api}.requires_all_acks": f"{row}.requires_all_acks",
                          f"{api}.ack_timeout_seconds": f"{row}.ack_timeout_minutes", f"{api}": f"{row}.label"})
        step: dict[str, Any] = {"label": label, "delay_seconds": _seconds(form, f"{row}.delay_minutes", lang,
                                                                          required=True) or 0,
                                "targets": targets, "channels": channels,
                                "requires_all_acks": form.value(f"{row}.requires_all_acks") == "1"}
        ack = _seconds(form, f"{row}.ack_timeout_minutes", lang, required=False)
        if ack is not None:
            step["ack_timeout_seconds"] = ack
        steps.append(step)
    repeat_text = form.value("repeat").strip() or "0"
    repeat: int | str = repeat_text if repeat_text == "forever" else (
        int(repeat_text) if repeat_text.isdigit() else -1)
    body = {"name": form.value("name").strip(), "kind": form.value("kind").strip(), "steps": steps, "repeat": repeat,
            **{name: form.value(name).strip() for name in ("scope_unit", "scope_area") if form.value(name).strip()}}
    return body, field_map
