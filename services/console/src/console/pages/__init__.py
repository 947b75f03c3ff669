"""The console's pages, one module (or subpackage) per area, each with its ``router`` (FastAPI) and its ``MENU``
(``web.menu.MenuItem``s, with the roles that see them), its templates in ``templates/<area>/``. ``bootstrap`` mounts
every module in ``PAGES``, in this order.

A new area: write ``pages/<area>.py`` (see ``accounts.py`` for a whole one: a table with filters and CSV, forms
showing the services' refusals by their fields, the audit trail), add its templates, and append it here.
"""

from types import ModuleType

import console.pages.board as board
import console.pages.directory as directory
from console.pages import accounts, alerts, home, inspection, member, operations, patrol, readiness, roster, signin

PAGES: list[ModuleType] = [signin, home, accounts, readiness, inspection, roster, patrol, member, alerts, operations,
                           directory, board]
