"""Migration 0004 turns the areas patrol kept as they were given (a name such as 塘下镇, or a code) into the codes
of the directory's places, by patrol's copy of the directory: a name of exactly one current place becomes its code,
a code stays. What it cannot map (a name no place has, a name several places share) stays as it was, is listed in
``area_mapping_gaps`` per table and area with a row count, and is announced in a NOTICE. A database whose copy of
the directory is still empty maps nothing and lists every area it holds."""

from __future__ import annotations

import asyncpg

from pingan_shared.db.migrations import Migration, apply_migrations, load_migrations, platform_migrations
from pingan_stack.sample_directory import seed_directory

TANGXIA, HANTIAN, ANYANG = "330381102000", "330381102201", "330381001000"


def migrations(*, before_0004: bool = False) -> list[Migration]:
    found = [*platform_migrations(), *load_migrations("patrol", "patrol")]
    return [m for m in found if not (before_0004 and m.component == "patrol" and m.version >= 4)]


async def seed_old_rows(conn: asyncpg.Connection) -> None:
    """Rows as patrol wrote them before 0004: areas by name, by code, unknown, ambiguous and none."""
    await conn.executemany(
        "INSERT INTO checkpoints (id, tag, name, radius_m, area) VALUES ($1, $1, $1, 50, $2)",
        [("CP-1", "塘下镇"), ("CP-2", ANYANG), ("CP-3", "火星"), ("CP-4", "新村"), ("CP-5", None), ("CP-6", "火星")])
    await conn.execute("INSERT INTO routes (id, current_version, created_at) VALUES ('R-1', 2, now())")
    await conn.executemany(
        "INSERT INTO route_versions (route_id, version, name, area, ordered, checkpoint_ids, published_at) "
        "VALUES ('R-1', $1, '一线', $2, false, '{CP-1}', now())", [(1, "韩田村"), (2, "火星")])
    await conn.execute(
        """
        INSERT INTO plans (id, team_id, route_id, first_date, last_date, window_start, window_end, timezone,
                           rounds_per_night, start_grace_minutes, checkpoint_grace_minutes, covers_from,
                           covers_until, created_at, updated_at)
        VALUES ('P-1', '一队', 'R-1', '2026-03-02', '2026-03-02', '20:00', '22:00', 'Asia/Shanghai', 1, 15, 10,
                now(), now(), now(), now())
        """)
    await conn.executemany(
        """
        INSERT INTO rounds (id, plan_id, team_id, route_id, route_version, area, ordered, night, starts_at, ends_at,
                            start_due_at, closes_at, state, updated_at)
        VALUES ($1, 'P-1', '一队', 'R-1', 1, $2, false, '2026-03-02', now(), now(), now(), now(), 'pending', now())
        """, [("RD-1", "韩田村"), ("RD-2", "火星")])


async def migrate_with_notices(conn: asyncpg.Connection) -> list[str]:
    """Apply the rest and return the migration's NOTICEs (not the runner's own)."""
    notices: list[str] = []
    conn.add_log_listener(lambda _conn, message: notices.append(str(message.message)))
    await apply_migrations(conn, migrations())
    return [n for n in notices if "0004_area_codes" in n]


async def areas(conn: asyncpg.Connection) -> dict[str, str | None]:
    rows = await conn.fetch(
        "SELECT id AS key, area FROM checkpoints UNION ALL "
        "SELECT route_id || ' v' || version, area FROM route_versions UNION ALL SELECT id, area FROM rounds")
    return {r["key"]: r["area"] for r in rows}


async def test_names_of_one_place_become_codes_and_what_cannot_be_mapped_is_listed(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn, migrations(before_0004=True))
        await seed_directory(conn)
        await conn.execute(  # two villages called 新村: that name maps to neither
            "INSERT INTO directory_entries (code, kind, name, parent, version) VALUES ('330381102299', 'village', "
            "'新村', $1, 1), ('330381001099', 'village', '新村', $2, 1)", TANGXIA, ANYANG)
        await seed_old_rows(conn)
        notices = await migrate_with_notices(conn)
        stored = await areas(conn)
        gaps = {(r["source"], r["area"], r["reason"], r["row_count"])
                for r in await conn.fetch("SELECT * FROM area_mapping_gaps")}
    finally:
        await conn.close()
    assert stored == {
        "CP-1": TANGXIA, "CP-2": ANYANG, "CP-3": "火星", "CP-4": "新村", "CP-5": None, "CP-6": "火星",
        "R-1 v1": HANTIAN, "R-1 v2": "火星", "RD-1": HANTIAN, "RD-2": "火星"}
    assert gaps == {("checkpoints", "火星", "unknown", 2), ("checkpoints", "新村", "ambiguous", 1),
                    ("route_versions", "火星", "unknown", 1), ("rounds", "火星", "unknown", 1)}
    assert len(notices) == 1 and "5 row(s)" in notices[0] and "area_mapping_gaps" in notices[0], notices


async def test_with_the_directory_not_yet_copied_nothing_is_mapped_and_everything_listed(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn, migrations(before_0004=True))
        await conn.execute("INSERT INTO checkpoints (id, tag, name, radius_m, area) "
                           "VALUES ('CP-1', 'nfc-1', '罗凤街口', 50, '塘下镇'), ('CP-2', 'nfc-2', '某处', 50, NULL)")
        notices = await migrate_with_notices(conn)
        stored = await conn.fetch("SELECT id, area FROM checkpoints ORDER BY id")
        gaps = await conn.fetch("SELECT source, area, reason, row_count FROM area_mapping_gaps")
    finally:
        await conn.close()
    assert [(r["id"], r["area"]) for r in stored] == [("CP-1", "塘下镇"), ("CP-2", None)]
    assert [tuple(r) for r in gaps] == [("checkpoints", "塘下镇", "unknown", 1)]
    assert len(notices) == 1 and "1 row(s)" in notices[0]


async def test_a_fresh_database_maps_nothing_and_says_nothing(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        notices = await migrate_with_notices(conn)
        assert await conn.fetchval("SELECT count(*) FROM area_mapping_gaps") == 0
    finally:
        await conn.close()
    assert notices == []
