-- Dead letters can be re-sent (an admin, after an outage): the message goes back to pending with a fresh attempt
-- budget and its same idempotency key.
--
-- Attempts stay numbered per message (delivery_attempts' key goes on: 1, 2, 3 … across re-sends), so the budget is
-- counted from attempt_base, the attempts the message had when it was last re-sent: the worker's "last attempt"
-- and its backoff look at attempts - attempt_base. resent counts the re-sends.
ALTER TABLE delivery_messages ADD COLUMN attempt_base integer NOT NULL DEFAULT 0;
ALTER TABLE delivery_messages ADD COLUMN resent integer NOT NULL DEFAULT 0;
ALTER TABLE delivery_messages ADD CONSTRAINT delivery_messages_attempt_base CHECK (attempt_base BETWEEN 0 AND attempts);

-- A re-sent message may fail again: each failure is a dead letter of its own (an id of its own, the history kept),
-- at most one of a message still open (not re-sent). Re-sending one records when and by whom.
ALTER TABLE delivery_dead_letters ADD COLUMN id bigserial;
ALTER TABLE delivery_dead_letters DROP CONSTRAINT delivery_dead_letters_pkey;
ALTER TABLE delivery_dead_letters ADD PRIMARY KEY (id);
ALTER TABLE delivery_dead_letters ADD COLUMN resent_at timestamptz;
ALTER TABLE delivery_dead_letters ADD COLUMN resent_by text;
ALTER TABLE delivery_dead_letters ADD CONSTRAINT delivery_dead_letters_resent
    CHECK ((resent_at IS NULL) = (resent_by IS NULL));
CREATE UNIQUE INDEX delivery_dead_letters_one_open ON delivery_dead_letters (message_id) WHERE resent_at IS NULL;
CREATE INDEX delivery_dead_letters_by_alert ON delivery_dead_letters USING gin (alert_ids);
