-- patrol: the facts of each scan, anti-fraud flags, hazard reports from the field.

-- Scan facts, written by the intake's one INSERT (no statement added to the intake transaction):
--   corrected_time  the device time judged with the upload's clock offset (device_time for an offset within the
--                   tolerance or without sent_at): when the scan happened by the server's clock;
--   sent_at         the upload's send time by the phone's clock (null from an old app);
--   clock_offset_s  received_at - sent_at in seconds (the phone's clock runs behind by this; negative: ahead);
--   method          nfc / qr / manual (null from an old app);
--   device_id       the uploading patrol device (its token's subject).
ALTER TABLE scans
    ADD COLUMN corrected_time timestamptz,
    ADD COLUMN sent_at        timestamptz,
    ADD COLUMN clock_offset_s double precision,
    ADD COLUMN method         text CHECK (method IN ('nfc', 'qr', 'manual')),
    ADD COLUMN device_id      text;
UPDATE scans SET corrected_time = device_time;
ALTER TABLE scans ALTER COLUMN corrected_time SET NOT NULL;

-- How a checkpoint's tag should be read: a QR code can be photographed and scanned anywhere, so a checkpoint
-- with an NFC tag expects nfc and a QR read there is flagged (weaker-method). Null: any method.
ALTER TABLE checkpoints
    ADD COLUMN expected_method text CHECK (expected_method IN ('nfc', 'qr', 'manual'));

-- Each member's scans as the flags consumer (patrol.flags) has handled them, in corrected-time order: the rules
-- compare a scan with its neighbours here. Its own table, so the intake's scans table carries no extra index
-- (the intake stays as fast as it was) and the outcome depends only on the order the events are handled in.
-- (latitude, longitude) is where the scan proves presence: its checkpoint's position, else the scan's GPS;
-- spread_m how far from there the member may have been (the checkpoint's radius, or the GPS accuracy).
-- at is the corrected time.
CREATE TABLE flag_timeline (
    team_id       text NOT NULL,
    scan_id       text NOT NULL,
    member_id     text NOT NULL,
    device_id     text,
    checkpoint_id text NOT NULL,
    at            timestamptz NOT NULL,
    latitude      double precision,
    longitude     double precision,
    spread_m      double precision NOT NULL,
    PRIMARY KEY (team_id, scan_id)
);
CREATE INDEX flag_timeline_member ON flag_timeline (team_id, member_id, at);
CREATE INDEX flag_timeline_checkpoint ON flag_timeline (team_id, checkpoint_id, at);

-- Anti-fraud flags (flagged, never rejected). A scan is (team_id, scan_id), as in scans: join on both. One row
-- per scan and kind, ever: a redelivered event or a neighbour re-checked later adds nothing.
--   kind        outside-radius | impossible-speed | clock-skew | two-devices | repeated-scan | weaker-method
--   scanned_at  the flagged scan's corrected time;  summary  one Chinese line;  detail  the figures compared
--   seq         the order flags were stored in: listings page by it
CREATE TABLE scan_flags (
    seq           bigserial NOT NULL UNIQUE,
    team_id       text NOT NULL,
    scan_id       text NOT NULL,
    kind          text NOT NULL,
    member_id     text NOT NULL,
    checkpoint_id text NOT NULL,
    device_id     text,
    scanned_at    timestamptz NOT NULL,
    summary       text NOT NULL,
    detail        jsonb NOT NULL,
    flagged_at    timestamptz NOT NULL,
    event_id      uuid NOT NULL UNIQUE,
    PRIMARY KEY (team_id, scan_id, kind)
);
CREATE INDEX scan_flags_member ON scan_flags (team_id, member_id, scanned_at);
CREATE INDEX scan_flags_time ON scan_flags (scanned_at);

-- Hazards (隐患) reported from the field. The phone names a report by its own id within its team
-- (client_hazard_id): a re-sent report with the same body gets the same answer, another body is a conflict.
-- hazard_id is patrol's, unique across teams: inspection applies each hazard id once.
CREATE TABLE hazard_reports (
    seq              bigserial NOT NULL UNIQUE,  -- the order reports arrived in: listings page by it
    team_id          text NOT NULL,
    client_hazard_id text NOT NULL,
    hazard_id        text NOT NULL UNIQUE,
    member_id        text NOT NULL,
    device_id        text NOT NULL,
    category         text NOT NULL,
    description      text NOT NULL,
    place            text NOT NULL,
    latitude         double precision,
    longitude        double precision,
    photo_refs       text[] NOT NULL,
    unit_id          text,
    reported_at      timestamptz NOT NULL,
    received_at      timestamptz NOT NULL,
    fingerprint      text NOT NULL,
    event_id         uuid NOT NULL UNIQUE,
    PRIMARY KEY (team_id, client_hazard_id)
);
CREATE INDEX hazard_reports_received ON hazard_reports (received_at);
