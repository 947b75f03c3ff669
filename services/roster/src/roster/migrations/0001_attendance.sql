-- roster: attendance per member and local day, fed by patrol's accepted scans.
-- (Minimal on purpose: the roster issue brings members, periods, cohorts and shifts.)
CREATE TABLE attendance (
    member_id     text NOT NULL,
    day           date NOT NULL,  -- local date (PINGAN_TIMEZONE) of the scan's device time
    team_id       text NOT NULL,
    scan_count    integer NOT NULL,
    first_scan_at timestamptz NOT NULL,
    last_scan_at  timestamptz NOT NULL,
    PRIMARY KEY (member_id, day)
);
CREATE INDEX attendance_team_day ON attendance (team_id, day);
