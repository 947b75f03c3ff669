-- Per-key sequence numbers for outbox events, and parking of rows the broker refuses for good.

-- The last sequence number given to each key. enqueue bumps a key's row in the writing transaction, so the
-- row lock also makes two transactions on one key commit in sequence order. Rows are never deleted: a key
-- whose counter restarted would have its new events look older than those already applied.
CREATE TABLE outbox_key_sequence (
    key           text PRIMARY KEY,
    last_sequence bigint NOT NULL CHECK (last_sequence > 0)
);

-- The sequence also lives in the envelope bytes (value); this copy is for operators and the CLI.
-- NULL for rows written before this migration.
ALTER TABLE outbox
    ADD COLUMN sequence     bigint,
    ADD COLUMN parked_at    timestamptz,
    ADD COLUMN parked_error text;

-- The relay reads unsent, unparked rows in id order; a parked row waits for an operator instead.
DROP INDEX outbox_unsent;
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_parked ON outbox (id) WHERE parked_at IS NOT NULL;
