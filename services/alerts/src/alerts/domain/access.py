"""Who sees, acknowledges and manages what (DESIGN.md §6), and whom a person answers for on a ladder.

A supervisor's scope is a place of the directory and covers everything beneath it: the alerts whose ``places``
hold the scope's code, whichever service raised them (``scope_code``: the scope as a code, its name resolved by
the caller, ``alerts.reach``). An alert raised without a known place is covered as before the directory: when its
unit or area is the scope as written. A supervisor without a scope is city-wide. A unit sees its own alerts.
Admins see everything and manage policies. Integration tokens only send signals: they read nothing.
"""

from __future__ import annotations

from collections.abc import Collection

from pingan_shared.auth import Principal, Role

READERS = (Role.UNIT, Role.SUPERVISOR, Role.ADMIN)


def covers(principal: Principal, scope_code: str | None, *, unit_id: str | None, area: str | None,
           places: Collection[str] = ()) -> bool:
    """Whether a scoped supervisor's scope covers what has this unit, area and places."""
    return principal.scope in (unit_id, area) or (scope_code or principal.scope) in places


def can_see(principal: Principal, *, unit_id: str | None, area: str | None, places: Collection[str] = (),
            scope_code: str | None = None) -> bool:
    if principal.role is Role.ADMIN:
        return True
    if principal.role is Role.SUPERVISOR:
        return principal.scope is None or covers(principal, scope_code, unit_id=unit_id, area=area, places=places)
    if principal.role is Role.UNIT:
        return principal.unit_id is not None and principal.unit_id == unit_id
    return False


def can_resolve(principal: Principal) -> bool:
    """A person closes an alert: a supervisor (of its scope) or an admin; a unit never closes its own."""
    return principal.role in (Role.SUPERVISOR, Role.ADMIN)


def within_scope(principal: Principal, *, unit_id: str | None, area: str | None, place: str | None = None,
                 scope_code: str | None = None, place_lineage: Collection[str] = ()) -> bool:
    """Whether a silence's matchers stay within what ``principal`` supervises: a scoped supervisor may silence only
    its own unit or area, or a place within its scope (``place_lineage``: that place's codes upwards); a silence
    matching every unit would reach beyond it."""
    if principal.role is Role.ADMIN or (principal.role is Role.SUPERVISOR and principal.scope is None):
        return True
    if principal.role is Role.SUPERVISOR:
        if place is not None:
            return (scope_code or principal.scope) in place_lineage
        return principal.scope in (unit_id, area)
    return False


def identities(principal: Principal, scope_code: str | None = None) -> set[str]:
    """The ladder targets a person answers for: themself, their unit, their supervisor role (by the scope as
    written and as its directory code)."""
    own = {f"person:{principal.subject}"}
    if principal.role is Role.UNIT and principal.unit_id:
        own.add(f"unit:{principal.unit_id}")
    if principal.role is Role.SUPERVISOR:
        if principal.scope:
            own.update(f"role:township-supervisor:{s}" for s in {principal.scope, scope_code} if s)
        else:
            own.add("role:city-office")
    return own
