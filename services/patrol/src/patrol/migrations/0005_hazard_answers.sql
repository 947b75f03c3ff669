-- What inspection answered for a hazard patrol reported (inspection.hazard-refused): the problems the patrol's
-- organiser can fix (a unit the directory does not hold), Chinese first, as [{field, value, reason}], and the triage
-- task the hazard went to all the same. inspection_sequence is inspection's per-hazard sequence: a late or repeated
-- answer changes nothing. NULL: no answer (inspection took the hazard as reported, or has not read it yet).
ALTER TABLE hazard_reports ADD COLUMN inspection_problems jsonb;
ALTER TABLE hazard_reports ADD COLUMN inspection_task_id text;
ALTER TABLE hazard_reports ADD COLUMN inspection_sequence bigint;
ALTER TABLE hazard_reports ADD COLUMN inspection_answered_at timestamptz;
