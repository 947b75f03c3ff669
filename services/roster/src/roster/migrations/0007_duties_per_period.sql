-- A duty's id is its period's own: `night` in period 263 and `night` in period 264 are two duties. The key of a
-- duty becomes (period_id, duty_id), and the shifts and wishes that name a duty name it with their period (both
-- already carry it, always the duty's own). Shift ids do not change: the shifts made before keep theirs (their
-- events are out under them); new ones carry the period (roster.domain.periods.shift_id).
ALTER TABLE member_requests DROP CONSTRAINT member_requests_duty_id_fkey;
ALTER TABLE shifts DROP CONSTRAINT shifts_duty_id_fkey;
ALTER TABLE shifts DROP CONSTRAINT shifts_duty_id_day_key;
ALTER TABLE duties DROP CONSTRAINT duties_pkey;

ALTER TABLE duties ADD CONSTRAINT duties_pkey PRIMARY KEY (period_id, duty_id);
DROP INDEX duties_period;  -- the primary key leads with period_id

ALTER TABLE shifts ADD CONSTRAINT shifts_duty_fkey FOREIGN KEY (period_id, duty_id)
    REFERENCES duties (period_id, duty_id) ON DELETE CASCADE;
ALTER TABLE shifts ADD CONSTRAINT shifts_duty_day_key UNIQUE (period_id, duty_id, day);
-- MATCH SIMPLE: a wish for any duty that day (duty_id NULL) names none.
ALTER TABLE member_requests ADD CONSTRAINT member_requests_duty_fkey FOREIGN KEY (period_id, duty_id)
    REFERENCES duties (period_id, duty_id) ON DELETE CASCADE;
