-- Checkpoints, routes and rounds sit in a place of the directory by its code (patrol.areas); before, an area was
-- kept as it was given (塘下镇, or a code). Each stored area that is a place's code stays; one that is the name of
-- exactly one current place becomes that place's code, by patrol's copy of the directory (platform migration
-- 0004). What cannot be mapped is kept as it is (the readers still match it by name, patrol.scope) and listed in
-- area_mapping_gaps, one row per table and area with how many rows hold it and why; the migration also raises a
-- NOTICE with the total. A fresh database, or one whose copy of the directory is still empty, maps nothing.
CREATE TABLE area_mapping_gaps (
    source      text NOT NULL,             -- checkpoints, route_versions or rounds
    area        text NOT NULL,             -- the area as stored, left as it was
    reason      text NOT NULL,             -- unknown: no place has this code or name; ambiguous: several have the name
    row_count   bigint NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, area)
);

CREATE TEMPORARY TABLE area_codes ON COMMIT DROP AS
WITH stored AS (
    SELECT area FROM checkpoints WHERE area IS NOT NULL
    UNION SELECT area FROM route_versions WHERE area IS NOT NULL
    UNION SELECT area FROM rounds WHERE area IS NOT NULL
), places AS (
    SELECT code, name, retired FROM directory_entries WHERE kind IN ('city', 'township', 'village', 'grid')
)
SELECT s.area,
       coalesce((SELECT p.code FROM places p WHERE p.code = s.area),
                (SELECT min(p.code) FROM places p WHERE p.name = s.area AND NOT p.retired
                 HAVING count(*) = 1)) AS code,
       (SELECT count(*) FROM places p WHERE p.name = s.area AND NOT p.retired) AS named
FROM stored s;

UPDATE checkpoints c SET area = m.code FROM area_codes m WHERE c.area = m.area AND m.code <> m.area;
UPDATE route_versions v SET area = m.code FROM area_codes m WHERE v.area = m.area AND m.code <> m.area;
UPDATE rounds r SET area = m.code FROM area_codes m WHERE r.area = m.area AND m.code <> m.area;

INSERT INTO area_mapping_gaps (source, area, reason, row_count)
SELECT g.source, g.area, CASE WHEN m.named > 1 THEN 'ambiguous' ELSE 'unknown' END, g.row_count
FROM (
    SELECT 'checkpoints' AS source, area, count(*) AS row_count FROM checkpoints GROUP BY area
    UNION ALL SELECT 'route_versions', area, count(*) FROM route_versions GROUP BY area
    UNION ALL SELECT 'rounds', area, count(*) FROM rounds GROUP BY area
) g JOIN area_codes m ON m.area = g.area
WHERE m.code IS NULL;

DO $$
DECLARE
    unmapped bigint;
BEGIN
    SELECT coalesce(sum(row_count), 0) INTO unmapped FROM area_mapping_gaps;
    IF unmapped > 0 THEN
        RAISE NOTICE 'patrol 0004_area_codes: % row(s) keep an area the directory could not map to one place: '
                     'SELECT * FROM area_mapping_gaps', unmapped;
    END IF;
END
$$;
