"""Who sees, acknowledges and manages what (DESIGN.md §6), and whom a person answers for on a ladder.

A supervisor's scope (a township or an area) covers the alerts whose unit or area is that scope; a supervisor
without a scope is city-wide. A unit sees its own alerts. Admins see everything and manage policies.
Integration tokens only send signals: they read nothing.
"""

from __future__ import annotations

from pingan_shared.auth import Principal, Role

READERS = (Role.UNIT, Role.SUPERVISOR, Role.ADMIN)


def can_see(principal: Principal, *, unit_id: str | None, area: str | None) -> bool:
    if principal.role is Role.ADMIN:
        return True
    if principal.role is Role.SUPERVISOR:
        return principal.scope is None or principal.scope in (unit_id, area)
    if principal.role is Role.UNIT:
        return principal.unit_id is not None and principal.unit_id == unit_id
    return False


def can_resolve(principal: Principal) -> bool:
    """A person closes an alert: a supervisor (of its scope) or an admin; a unit never closes its own."""
    return principal.role in (Role.SUPERVISOR, Role.ADMIN)


def within_scope(principal: Principal, *, unit_id: str | None, area: str | None) -> bool:
    """Whether a silence's matchers stay within what ``principal`` supervises: a scoped supervisor may silence
    only its own unit or area (a silence matching every unit would reach beyond it)."""
    if principal.role is Role.ADMIN or (principal.role is Role.SUPERVISOR and principal.scope is None):
        return True
    if principal.role is Role.SUPERVISOR:
        return principal.scope in (unit_id, area)
    return False


def identities(principal: Principal) -> set[str]:
    """The ladder targets a person answers for: themself, their unit, their supervisor role."""
    own = {f"person:{principal.subject}"}
    if principal.role is Role.UNIT and principal.unit_id:
        own.add(f"unit:{principal.unit_id}")
    if principal.role is Role.SUPERVISOR:
        own.add(f"role:township-supervisor:{principal.scope}" if principal.scope else "role:city-office")
    return own
