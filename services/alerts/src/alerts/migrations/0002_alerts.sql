-- alerts: the escalation core. Alerts (one open per dedup key), the policies they are raised under, the
-- acknowledgements of each step, silences, the signals seen per dedup key, and the audit timeline.

-- Escalation policies per alert kind and scope. A policy with no scope applies to every alert of its kind;
-- one with a unit or an area applies to those alerts only (the most specific wins, see store/policies.py).
CREATE TABLE alert_policies (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL,
    scope_unit  text,
    scope_area  text,
    steps       jsonb NOT NULL,              -- [{delay_seconds, targets, channels, label, requires_all_acks, ack_timeout_seconds}]
    repeat      integer NOT NULL DEFAULT 0 CHECK (repeat >= -1),  -- extra climbs after the first; -1 = forever
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
-- One policy per kind and scope: two would make the choice arbitrary.
CREATE UNIQUE INDEX alert_policies_one_per_scope
    ON alert_policies (kind, coalesce(scope_unit, ''), coalesce(scope_area, ''));

-- An alert: the state of its ladder (current step, loop, next escalation time) beside the policy frozen
-- onto it when it was raised, so a policy edited later never changes a climb already under way.
CREATE TABLE alerts (
    id                  text PRIMARY KEY,
    dedup_key           text NOT NULL,
    kind                text NOT NULL,
    severity            text NOT NULL,
    summary             text NOT NULL,
    unit_id             text,
    area                text,
    source              jsonb NOT NULL,
    status              text NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    policy              jsonb NOT NULL,      -- {id, name, steps, repeat} with targets resolved for this alert
    current_step        integer NOT NULL DEFAULT -1,   -- the last step fired (-1: none yet)
    loop                integer NOT NULL DEFAULT 0,
    step_fired_at       timestamptz,
    next_escalation_at  timestamptz,        -- the next step (or the end of an acknowledgement): NULL = nothing due
    next_reminder_at    timestamptz,        -- a multi-ack step's next reminder to those who have not acknowledged
    held_since          timestamptz,        -- a silence held this alert's notifications since then
    raised_at           timestamptz NOT NULL,
    acknowledged_at     timestamptz,
    acknowledged_by     text,
    resolved_at         timestamptz,
    resolved_by         text,
    resolve_reason      text NOT NULL DEFAULT '',
    updated_at          timestamptz NOT NULL
);
-- One open alert per dedup key, enforced by the database whatever the number of replicas.
CREATE UNIQUE INDEX alerts_one_open_per_key ON alerts (dedup_key) WHERE status <> 'resolved';
CREATE INDEX alerts_due ON alerts (next_escalation_at) WHERE status <> 'resolved';
-- One durable timer per alert (kind alert-due, key alert id), due at the earlier of the two times above.
CREATE INDEX alerts_unit ON alerts (unit_id, id);
CREATE INDEX alerts_area ON alerts (area, id);

-- Who acknowledged which step (and climb) of an alert: a multi-ack step waits for every target.
CREATE TABLE alert_acks (
    alert_id  text NOT NULL REFERENCES alerts (id),
    step      integer NOT NULL,
    loop      integer NOT NULL,
    target    text NOT NULL,
    by        text NOT NULL,
    at        timestamptz NOT NULL,
    PRIMARY KEY (alert_id, step, loop, target)
);

-- The signals applied per dedup key and producer: the highest sequence applied, so a resolve that overtook its
-- trigger still wins and a repeated or older signal changes nothing (pingan_shared.messaging.ordering).
CREATE TABLE alert_signal_keys (
    dedup_key      text NOT NULL,
    producer       text NOT NULL,
    last_sequence  bigint,
    last_action    text NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (dedup_key, producer)
);

-- Silences and maintenance windows: matching alerts climb, but their notifications are held until the end.
CREATE TABLE silences (
    id          text PRIMARY KEY,
    kind        text,                        -- NULL: any kind
    unit_id     text,                        -- NULL: any unit
    area        text,                        -- NULL: any area
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    reason      text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    ended_early_at timestamptz,
    released_at timestamptz,                 -- when the held notifications were let go
    CHECK (starts_at < ends_at)
);
CREATE INDEX silences_active ON silences (ends_at) WHERE released_at IS NULL;

-- The audit timeline of an alert: raised, each step, acks, silences, resolve; delivery attempts too.
CREATE TABLE alert_timeline (
    id        bigserial PRIMARY KEY,
    alert_id  text NOT NULL,
    kind      text NOT NULL,
    at        timestamptz NOT NULL,
    detail    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_timeline_alert ON alert_timeline (alert_id, at, id);

UPDATE alerts_meta SET value = 'escalation' WHERE key = 'schema';
