-- roster: attendance per team member and local day, fed by patrol's accepted scans.
-- (Minimal on purpose: the roster issue brings members, periods, cohorts and shifts.)
-- A scan's member id is what the team's app sends (often a name): it is only unique within the team,
-- so two teams' 张三 are two people.
CREATE TABLE attendance (
    team_id       text NOT NULL,
    day           date NOT NULL,  -- local date (PINGAN_TIMEZONE) of the scan's device time
    member_id     text NOT NULL,
    scan_count    integer NOT NULL,
    first_scan_at timestamptz NOT NULL,
    last_scan_at  timestamptz NOT NULL,
    PRIMARY KEY (team_id, day, member_id)
);
CREATE INDEX attendance_day ON attendance (day);
