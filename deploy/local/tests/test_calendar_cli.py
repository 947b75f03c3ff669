"""`pingan calendar load YEAR FILE` against a real inspection service (loopback HTTP, real database and broker): the
notice's days from a CSV become the year's arrangement, and `pingan calendar show` reads it back; a line of an
unknown type is refused before anything is sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from inspection.bootstrap import bootstrap
from inspection.domain.calendar import PACKAGE_CALENDAR
from inspection.settings import InspectionSettings
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import run_pingan, serving_on_loopback

YEAR = next(y for y in range(2027, 2100) if not PACKAGE_CALENDAR.knows(y))


async def test_a_years_notice_is_loaded_from_a_file_and_read_back(
    tmp_path: Path, platform_settings: PlatformSettings, database_factory: Callable[[], Awaitable[str]],
) -> None:
    service = bootstrap(platform=platform_settings,
                        settings=InspectionSettings(database_url=await database_factory()))
    notice = tmp_path / "notice.csv"
    notice.write_text(f"date,type,name\n{YEAR}-01-01,放假,元旦\n{YEAR}-02-06,holiday,春节\n{YEAR}-02-14,上班,调休\n",
                      encoding="utf-8")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(f"{YEAR}-01-01,vacation\n", encoding="utf-8")
    async with serving_on_loopback(service) as url:
        env = {"INSPECTION_URL": url}
        loaded = await asyncio.to_thread(run_pingan, "calendar", "load", str(YEAR), str(notice), "--json", env=env)
        assert loaded.returncode == 0, loaded.stderr
        answer = json.loads(loaded.stdout)
        assert (answer["holidays"], answer["workdays"]) == ([f"{YEAR}-01-01", f"{YEAR}-02-06"], [f"{YEAR}-02-14"])
        assert "inspection at" in loaded.stderr
        shown = await asyncio.to_thread(run_pingan, "calendar", "show", str(YEAR), env=env)
        assert shown.returncode == 0 and json.loads(shown.stdout)["source"] == "loaded", shown.stderr
        refused = await asyncio.to_thread(run_pingan, "calendar", "load", str(YEAR), str(wrong), env=env)
        assert refused.returncode == 2 and "line 1" in refused.stderr
