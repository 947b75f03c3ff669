-- A finding's id as its recorder gave it (an idempotency key), kept per recorder: a supervision-group member's key
-- is theirs alone, so the same key from another member is a new finding, never a clash that would tell them a finding
-- they may not see exists. Inspectors' and admins' findings keep their key as their id too (they read every finding).
ALTER TABLE findings ADD COLUMN client_id text;
-- Findings recorded before were all stored under their recorder's key (or a made-up id): that is their key.
UPDATE findings SET client_id = id;
CREATE UNIQUE INDEX findings_one_per_recorder_key ON findings (recorded_by, client_id) WHERE client_id IS NOT NULL;
