-- patrol: checkpoints and accepted scans.

CREATE TABLE checkpoints (
    id          text PRIMARY KEY,
    tag         text NOT NULL UNIQUE,
    name        text NOT NULL,
    latitude    double precision,
    longitude   double precision,
    radius_m    double precision NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A scan's identity is the device's client scan id within its team: a retry of the same upload
-- hits the primary key and is recognised as a duplicate (same fingerprint) or a conflict.
CREATE TABLE scans (
    team_id       text NOT NULL,
    scan_id       text NOT NULL,
    member_id     text NOT NULL,
    checkpoint_id text NOT NULL REFERENCES checkpoints (id),
    device_time   timestamptz NOT NULL,
    received_at   timestamptz NOT NULL,
    latitude      double precision,
    longitude     double precision,
    accuracy_m    double precision,
    distance_m    double precision,
    within_radius boolean,
    fingerprint   text NOT NULL,
    event_id      uuid NOT NULL UNIQUE,
    PRIMARY KEY (team_id, scan_id)
);
CREATE INDEX scans_checkpoint_time ON scans (checkpoint_id, device_time);
CREATE INDEX scans_member_time ON scans (member_id, device_time);
