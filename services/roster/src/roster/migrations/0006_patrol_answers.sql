-- What patrol answered for each published patrol shift (patrol.shift-planned / patrol.shift-refused): planned, or
-- refused with the problems the organiser can fix. patrol_sequence is patrol's per-shift sequence: a late or
-- repeated answer changes nothing. not_planned_alerted_at: when the "not planned in patrol" alert signal went out
-- (at the shift's start, the refusal still standing); its resolve goes out when patrol plans the shift or roster
-- cancels it.
ALTER TABLE shifts ADD COLUMN patrol_status text CHECK (patrol_status IN ('planned', 'refused'));
ALTER TABLE shifts ADD COLUMN patrol_problems jsonb;
ALTER TABLE shifts ADD COLUMN patrol_sequence bigint;
ALTER TABLE shifts ADD COLUMN patrol_answered_at timestamptz;
ALTER TABLE shifts ADD COLUMN not_planned_alerted_at timestamptz;
CREATE INDEX shifts_refused ON shifts (period_id) WHERE patrol_status = 'refused';
