"""The organiser's directory of places and organisations (地点与组织目录: 市 → 镇街 → 村社 → 网格, and the units,
stations, teams and companies serving them), which roster owns: the directory as a table (filters, pages, CSV), as a
tree to walk down (a place's lineage, children and map), a CSV import answered row by row, and one entry edited or
retired. Everything goes to roster's API as the signed-in organiser (or admin); roster decides and refuses.

Mounted in this order: ``/directory/import`` and ``/directory/tree`` are fixed paths beside ``/directory/entries/…``.
"""

from fastapi import APIRouter

from console.pages.directory import edit, entry, imports, listing
from console.pages.roster.common import ROLES
from console.web.menu import MenuItem

router = APIRouter(include_in_schema=False)
for module in (listing, imports, entry, edit):
    router.include_router(module.router)

MENU = [
    MenuItem("/directory", "地点与组织目录", "Places and organisations", section="roster", roles=ROLES, order=50,
             summary=("市、镇街、村社、网格与各类组织，CSV 导入", "City, townships, villages, grids and organisations; "
                                                       "CSV import")),
]
