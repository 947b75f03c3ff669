"""The left menu: each page module declares its entries (``MENU``), with the roles that see them, and the console
gathers them when it mounts the module (``console.pages.PAGES``). A person sees the entries of their role, grouped
by section in the order below; the landing page lists the same.

A new area adds its section here (one line) and its entries in its own module::

    MENU = [MenuItem("/roster/periods", "轮值期次", "Rotation periods", section="roster", roles={Role.ORGANISER},
                     order=20)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pingan_shared.auth import Role

# Sections in menu order; their names are the catalog's "section.<key>" (web.i18n).
SECTIONS: Sequence[str] = ("home", "roster", "patrol", "inspection", "alerts", "admin", "member")


@dataclass(frozen=True)
class MenuItem:
    path: str
    zh: str
    en: str
    section: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    order: int = 100  # within the section, lower first
    # Also shown as a card on the landing page, with this one-line description (zh, en); None: menu only.
    summary: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(self.roles))
        if self.section not in SECTIONS:
            raise ValueError(f"menu item {self.path}: unknown section {self.section!r} (add it to web.menu.SECTIONS)")
        if not self.path.startswith("/"):
            raise ValueError(f"menu item {self.path}: a path starts with /")


@dataclass(frozen=True)
class MenuSection:
    key: str
    items: Sequence[MenuItem]


@dataclass
class Menu:
    """Every entry of the mounted page modules."""

    items: list[MenuItem] = field(default_factory=list)

    def add(self, entries: Iterable[MenuItem]) -> None:
        for entry in entries:
            if any(known.path == entry.path for known in self.items):
                raise ValueError(f"menu item {entry.path} is declared twice")
            self.items.append(entry)

    def for_role(self, role: Role) -> list[MenuSection]:
        """The sections with at least one entry ``role`` sees, in menu order."""
        by_section: Mapping[str, list[MenuItem]] = {key: [] for key in SECTIONS}
        for entry in self.items:
            if role in entry.roles:
                by_section[entry.section].append(entry)
        return [MenuSection(key, sorted(entries, key=lambda e: (e.order, e.path)))
                for key, entries in by_section.items() if entries]

    def current(self, path: str) -> MenuItem | None:
        """The entry the page at ``path`` belongs to: the longest entry path that is ``path`` or a folder of it."""
        matches = [e for e in self.items if path == e.path or (e.path != "/" and path.startswith(e.path + "/"))]
        return max(matches, key=lambda e: len(e.path), default=None)
