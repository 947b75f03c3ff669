"""`pingan patrol import` as a user runs it, against a patrol service serving on a loopback port (real database
and broker): JSON and CSV files in chunks, every row counted, rejected rows named by their line, exit status."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from patrol.bootstrap import bootstrap
from patrol.settings import PatrolSettings
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import run_pingan, serving_on_loopback


async def test_import_json_then_csv_with_a_bad_row(database_factory: Callable[..., Awaitable[str]],
                                                   platform_settings: PlatformSettings, tmp_path: Path) -> None:
    checkpoints = [{"id": f"CP-{i}", "tag": f"nfc-{i}", "name": f"塘下镇检查点{i}", "area": "塘下镇"}
                   for i in range(1, 8)]
    document = {"checkpoints": checkpoints,
                "routes": [{"id": "R-1", "name": "塘下镇夜巡一线", "area": "塘下镇", "ordered": True,
                            "checkpoint_ids": ["CP-1", "CP-2", "CP-3"]}]}
    json_file = tmp_path / "塘下镇.json"
    json_file.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    csv_file = tmp_path / "routes.csv"
    csv_file.write_text("id,name,area,checkpoint_ids\n"
                        "R-2,塘下镇夜巡二线,塘下镇,CP-4|CP-5\n"
                        "\n"
                        "R-3,塘下镇夜巡三线,塘下镇,CP-6|CP-404\n"
                        "R-1,塘下镇夜巡一线,塘下镇,CP-1|CP-2|CP-3|CP-7\n", encoding="utf-8")
    database_url = await database_factory(template="patrol+directory")  # the areas are the directory's places
    service = bootstrap(platform=platform_settings, settings=PatrolSettings(database_url=database_url))
    async with serving_on_loopback(service) as url:
        first = await asyncio.to_thread(run_pingan, "patrol", "import", str(json_file), "--chunk-rows", "3",
                                        env={"PATROL_URL": url})
        assert first.returncode == 0, first.stdout + first.stderr
        assert "created 8, updated 0, unchanged 0, rejected 0 (of 8 rows)" in first.stdout
        assert "8/8" in first.stderr  # the progress bar reached the end

        again = await asyncio.to_thread(run_pingan, "patrol", "import", str(json_file), env={"PATROL_URL": url})
        assert "created 0, updated 0, unchanged 8, rejected 0" in again.stdout, again.stdout + again.stderr

        second = await asyncio.to_thread(run_pingan, "patrol", "import", str(csv_file), "--chunk-rows", "2",
                                         env={"PATROL_URL": url})
        assert second.returncode == 1, second.stdout + second.stderr
        assert "created 1, updated 1, unchanged 0, rejected 1 (of 3 rows)" in second.stdout
        rejected = [line.strip() for line in second.stdout.splitlines() if line.strip().startswith("rejected line")]
        assert len(rejected) == 1 and rejected[0].startswith("rejected line 4 (R-3): checkpoint_ids:")
        assert "CP-404" in rejected[0]

        refused = await asyncio.to_thread(run_pingan, "patrol", "import", str(csv_file), "--token", "not-a-token",
                                          env={"PATROL_URL": url})
        assert refused.returncode == 1 and "HTTP 401" in refused.stdout


def test_an_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    broken = tmp_path / "x.json"
    broken.write_text("{not json", encoding="utf-8")
    result = run_pingan("patrol", "import", str(broken), env={"PATROL_URL": "http://127.0.0.1:9"})
    assert result.returncode == 2 and "not JSON" in result.stderr
    gbk = tmp_path / "x.csv"
    gbk.write_bytes("id,tag,name\nCP-1,t,塘下".encode("gbk"))
    result = run_pingan("patrol", "import", str(gbk), env={"PATROL_URL": "http://127.0.0.1:9"})
    assert result.returncode == 2 and "UTF-8" in result.stderr
