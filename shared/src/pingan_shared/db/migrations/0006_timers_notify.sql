-- A timer armed (or re-armed: INSERT ... ON CONFLICT DO UPDATE is an insert statement) wakes the runners of this
-- database at once, as a new outbox row wakes the relay: a timer already due fires without waiting for the next poll,
-- so the runners can poll seldom. One notification per statement (schedule_many arms thousands in one).
CREATE OR REPLACE FUNCTION timers_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('timers', '');
    RETURN NULL;
END $$;
CREATE TRIGGER timers_armed AFTER INSERT ON timers
    FOR EACH STATEMENT EXECUTE FUNCTION timers_notify();
