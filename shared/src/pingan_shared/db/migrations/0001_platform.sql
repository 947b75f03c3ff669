-- Platform tables every service database has: outbox, inbox, durable timers.

-- Transactional outbox: written in the same transaction as the state change it announces.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    topic       text NOT NULL,
    key         text NOT NULL,
    event_type  text NOT NULL,
    schema_version integer NOT NULL,
    value       bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
-- The relay only ever reads unsent rows in id order.
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END $$;
-- One notification per inserting statement: the relay wakes promptly without polling hard.
CREATE TRIGGER outbox_inserted AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Idempotent inbox: a message id here means its effects are committed.
CREATE TABLE inbox (
    message_id     text NOT NULL,
    consumer_group text NOT NULL,
    event_type     text,
    topic          text NOT NULL,
    partition      integer NOT NULL,
    "offset"       bigint NOT NULL,
    outcome        text NOT NULL CHECK (outcome IN ('handled', 'ignored', 'dead-lettered')),
    handled_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, message_id)
);
-- Housekeeping removes rows past the inbox retention (longer than any topic's retention).
CREATE INDEX inbox_handled_at ON inbox (handled_at);

-- Durable timers: business deadlines fire from any replica exactly once, also after restarts.
CREATE TABLE timers (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL,
    timer_key   text NOT NULL,
    due_at      timestamptz NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}',
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'fired', 'cancelled', 'failed')),
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text,
    fired_at    timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, timer_key)
);
CREATE INDEX timers_due ON timers (due_at) WHERE status = 'pending';
