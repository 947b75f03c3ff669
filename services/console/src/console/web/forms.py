"""A form as the page shows it again after a refusal: what was typed kept, each reason next to the field it names,
and whatever names no field of the form at the top.

The services name fields by where they are in the request (``body.name``, ``body.steps.1.targets.0``,
``query.after``); a page's field is usually the same name without the ``body.``/``query.``/``path.`` prefix, so that
is found by itself; ``field_map`` maps the others (``{"body.steps.1.targets.0": "targets"}``, or a prefix ending in
``.``: ``{"body.steps.": "steps"}``). A refusal of the console's own use cases (``pingan_shared.refused.Refused``)
names form fields already.

In a route::

    form = Form.from_request_values(await request.form(), fields=("name", "unit_id"))
    try:
        await person.services.post("inspection", "/v1/units", json=form.values)
    except ServiceRefused as refusal:
        return render(request, "units/new.html", person, form=form.refused(refusal), status_code=422)

and in the template: ``{{ forms.field(form, "name", t("units.name")) }}`` (``macros/forms.html``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from console.services import ServiceRefused
from pingan_shared.refused import Refused

_LOCATIONS = ("body.", "query.", "path.", "header.")


@dataclass
class Form:
    fields: Sequence[str]  # the form's field names, in order
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)  # field -> reasons
    general: list[str] = field(default_factory=list)  # shown at the top: the detail, and errors of unknown fields

    @classmethod
    def from_request_values(cls, submitted: Mapping[str, object], fields: Sequence[str]) -> Form:
        """The text fields of a submitted form (files and the CSRF token left out), as typed."""
        values = {name: value for name in fields if isinstance(value := submitted.get(name), str)}
        return cls(fields=fields, values=values)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.general)

    def error(self, name: str, reason: str) -> Form:
        self.errors.setdefault(name, []).append(reason)
        return self

    def refused(self, refusal: ServiceRefused | Refused, field_map: Mapping[str, str] | None = None) -> Form:
        """This form with the refusal's reasons placed: each by the field it names, the rest at the top with the
        detail."""
        errors = refusal.errors if isinstance(refusal, ServiceRefused) else refusal.answer()
        placed_any = False
        for error in errors:
            target = self._field_for(error.get("field", ""), field_map or {})
            if target is None:
                self._general(f"{error.get('field')}: {error.get('reason')}")
            else:
                self.error(target, error.get("reason", ""))
                placed_any = True
        if not placed_any or refusal.detail not in {e.get("reason") for e in errors}:
            self._general(refusal.detail)
        return self

    def _general(self, text: str) -> None:
        if text and text not in self.general:
            self.general.append(text)

    def _field_for(self, name: str, field_map: Mapping[str, str]) -> str | None:
        if name in field_map:
            return field_map[name]
        for prefix, target in field_map.items():
            if prefix.endswith(".") and name.startswith(prefix):
                return target
        bare = next((name[len(p):] for p in _LOCATIONS if name.startswith(p)), name)
        for candidate in _prefixes(bare):
            if candidate in self.fields:
                return candidate
        return None


def _prefixes(dotted: str) -> Iterable[str]:
    """``a.b.c``, ``a.b``, ``a``: an error deep in a field's value belongs to that field."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        yield ".".join(parts[:end])
