-- Delivery of notifications: the contacts directory, the delivery rows (one per notification, recipient and
-- channel), the messages the worker sends (one or a bundle of delivery rows), their attempts, dead letters,
-- and the per-person inbox.

CREATE TABLE contacts (
    target          text PRIMARY KEY CHECK (target ~ '^(person|unit|role):\S'),
    display_name    text NOT NULL,
    subject         text,            -- auth subject owning this contact's inbox (person/unit)
    locale          text NOT NULL DEFAULT 'zh' CHECK (locale IN ('zh', 'en')),
    email           text,
    webhook_url     text,
    -- During a rotation both the new and the old secret are valid: every valid one signs each request.
    webhook_secrets text[] NOT NULL DEFAULT '{}' CHECK (cardinality(webhook_secrets) <= 2),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX contacts_one_inbox_per_subject ON contacts (subject) WHERE subject IS NOT NULL;

-- Members of a role group (role:city-office → people and units).
CREATE TABLE contact_members (
    group_target  text NOT NULL REFERENCES contacts (target) ON DELETE CASCADE,
    member_target text NOT NULL REFERENCES contacts (target) ON DELETE CASCADE,
    PRIMARY KEY (group_target, member_target),
    CHECK (group_target LIKE 'role:%' AND member_target NOT LIKE 'role:%')
);
CREATE INDEX contact_members_by_member ON contact_members (member_target);

-- One outgoing message: a single notification or a bundle of them for one recipient on one channel.
-- pending → sending (until sending_deadline; past it another worker takes it back) → sent (webhook, e-mail)
-- or delivered (inbox, stream); after the last failed attempt → failed, with a dead letter.
CREATE TABLE delivery_messages (
    id               bigserial PRIMARY KEY,
    idempotency_key  text NOT NULL UNIQUE,   -- the same on every attempt; receivers drop repeats by it
    recipient        text NOT NULL,
    channel          text NOT NULL CHECK (channel IN ('webhook', 'email', 'inbox', 'stream')),
    status           text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    sending_deadline timestamptz,
    claim_token      uuid,                   -- the claim a result must present: a taken-back send cannot finish
    first_due_at     timestamptz NOT NULL,   -- the earliest due time of its notifications (latency is from here)
    last_error       text,
    created_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    CHECK ((status = 'sending') = (sending_deadline IS NOT NULL))
);
CREATE INDEX delivery_messages_due ON delivery_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX delivery_messages_sending ON delivery_messages (sending_deadline) WHERE status = 'sending';
CREATE INDEX delivery_messages_channel_attempts ON delivery_messages (channel, status);

-- One notification to one recipient on one channel. The idempotency key is derived from (alert, event, step,
-- loop, target, channel, recipient): a re-fired step inserts nothing new, so it never sends twice.
CREATE TABLE deliveries (
    id              bigserial PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    alert_id        text NOT NULL,
    dedup_key       text NOT NULL,
    kind            text NOT NULL,
    severity        text NOT NULL,
    summary         text NOT NULL,
    unit_id         text,
    area            text,
    event           text NOT NULL CHECK (event IN ('raised', 'escalated', 'reminder', 'resolved')),
    step_index      integer NOT NULL,
    step_label      text NOT NULL,
    loop            integer NOT NULL,
    target          text NOT NULL,
    recipient       text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('webhook', 'email', 'inbox', 'stream')),
    link            text,
    due_at          timestamptz NOT NULL,
    -- pending: not yet in a message; bundled: in a message (its state is the message's); then the message's
    -- final state is copied here (sent, delivered, failed).
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'bundled', 'sent', 'delivered', 'failed')),
    message_id      bigint REFERENCES delivery_messages (id),
    created_at      timestamptz NOT NULL,
    CHECK ((status = 'pending') = (message_id IS NULL))
);
CREATE INDEX deliveries_unbundled ON deliveries (recipient, channel, due_at) WHERE message_id IS NULL;
CREATE INDEX deliveries_by_message ON deliveries (message_id);
CREATE INDEX deliveries_by_alert ON deliveries (alert_id);

-- Every attempt at sending a message and its result (also appended to each alert's timeline).
CREATE TABLE delivery_attempts (
    message_id  bigint NOT NULL REFERENCES delivery_messages (id),
    attempt     integer NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    outcome     text CHECK (outcome IN ('sent', 'delivered', 'retry', 'failed', 'taken-back')),
    detail      text,
    PRIMARY KEY (message_id, attempt)
);
-- The per-channel rate limit counts attempts started in the last minute.
CREATE INDEX delivery_attempts_started ON delivery_attempts (started_at);

CREATE TABLE delivery_dead_letters (
    message_id      bigint PRIMARY KEY REFERENCES delivery_messages (id),
    idempotency_key text NOT NULL,
    recipient       text NOT NULL,
    channel         text NOT NULL,
    attempts        integer NOT NULL,
    last_error      text NOT NULL,
    alert_ids       text[] NOT NULL,
    created_at      timestamptz NOT NULL
);

-- The per-person inbox: one row per delivered inbox message, read or unread by its owner.
CREATE TABLE inbox_messages (
    id           bigserial PRIMARY KEY,
    message_id   bigint NOT NULL UNIQUE REFERENCES delivery_messages (id),
    recipient    text NOT NULL,
    owner        text NOT NULL,          -- the auth subject allowed to read it
    title        text NOT NULL,
    body         text NOT NULL,
    alert_ids    text[] NOT NULL,
    created_at   timestamptz NOT NULL,
    read_at      timestamptz
);
CREATE INDEX inbox_messages_by_owner ON inbox_messages (owner, id DESC);
