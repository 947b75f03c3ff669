-- patrol: routes (versioned), patrol plans, the shifts they came from, and rounds (轮次) with their checkpoints.

-- The township or area (镇街) a checkpoint stands in; routes carry their own (compliance counts by route area).
ALTER TABLE checkpoints ADD COLUMN area text;

CREATE TABLE routes (
    id              text PRIMARY KEY,
    current_version integer NOT NULL,
    created_at      timestamptz NOT NULL
);

-- Every edit is a new version; a round keeps the version it was started with.
CREATE TABLE route_versions (
    route_id       text NOT NULL REFERENCES routes (id),
    version        integer NOT NULL,
    name           text NOT NULL,
    area           text,
    ordered        boolean NOT NULL,
    checkpoint_ids text[] NOT NULL,
    published_at   timestamptz NOT NULL,
    PRIMARY KEY (route_id, version)
);

-- A team walks a route in a local window (may cross midnight) on each date from first_date to last_date.
CREATE TABLE plans (
    id                       text PRIMARY KEY,
    team_id                  text NOT NULL,
    route_id                 text NOT NULL REFERENCES routes (id),
    first_date               date NOT NULL,
    last_date                date NOT NULL,
    window_start             time NOT NULL,
    window_end               time NOT NULL,
    timezone                 text NOT NULL,
    every_minutes            integer,
    rounds_per_night         integer,
    start_grace_minutes      integer NOT NULL,
    checkpoint_grace_minutes integer NOT NULL,
    shift_id                 text UNIQUE,
    -- the instants the plan covers (first window's start, last window's end): overlap checks compare them
    covers_from              timestamptz NOT NULL,
    covers_until             timestamptz NOT NULL,
    cancelled_at             timestamptz,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    CHECK (every_minutes IS NOT NULL OR rounds_per_night IS NOT NULL)
);
CREATE INDEX plans_team_route ON plans (team_id, route_id) WHERE cancelled_at IS NULL;

-- The highest envelope sequence applied per roster shift: a reordered or repeated shift event changes nothing,
-- also after the shift's plan was cancelled.
CREATE TABLE roster_shifts (
    shift_id      text PRIMARY KEY,
    last_sequence bigint,
    plan_id       text,
    state         text NOT NULL
);

CREATE TABLE rounds (
    id                 text PRIMARY KEY,
    plan_id            text NOT NULL REFERENCES plans (id),
    shift_id           text,
    team_id            text NOT NULL,
    route_id           text NOT NULL,
    route_version      integer NOT NULL,
    area               text,
    ordered            boolean NOT NULL,
    night              date NOT NULL,             -- the local date the window started on
    starts_at          timestamptz NOT NULL,
    ends_at            timestamptz NOT NULL,
    start_due_at       timestamptz NOT NULL,      -- starts_at + start grace
    closes_at          timestamptz NOT NULL,      -- ends_at + checkpoint grace: judged then
    state              text NOT NULL,             -- pending, in_progress, completed, incomplete, expired, cancelled
    started_at         timestamptz,               -- device time of the earliest attached scan
    completed_at       timestamptz,
    not_started_raised boolean NOT NULL DEFAULT false,
    closed             boolean NOT NULL DEFAULT false,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX rounds_team_window ON rounds (team_id, starts_at, closes_at);
CREATE INDEX rounds_plan ON rounds (plan_id, starts_at);
CREATE INDEX rounds_night ON rounds (night, area);

CREATE TABLE round_checkpoints (
    round_id      text NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    checkpoint_id text NOT NULL,
    position      integer NOT NULL,
    first_scan_at timestamptz,                    -- device time of its earliest scan in the round
    missed_raised boolean NOT NULL DEFAULT false, -- a 漏巡 signal is open for it
    PRIMARY KEY (round_id, checkpoint_id)
);

-- Which accepted scans a round counted (a scan belongs to at most one round).
CREATE TABLE round_scans (
    team_id       text NOT NULL,
    scan_id       text NOT NULL,
    round_id      text NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    checkpoint_id text NOT NULL,
    device_time   timestamptz NOT NULL,
    PRIMARY KEY (team_id, scan_id)
);
CREATE INDEX round_scans_round ON round_scans (round_id, device_time);
