-- The 211 cycle: units, cycles, sealed findings, notices, rectification tasks and their history.
-- btree_gist lets one exclusion constraint refuse overlapping cycles per unit (ships with PostgreSQL contrib).
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE units (
    id                  text PRIMARY KEY,
    name                text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('township', 'department')),
    contact             text NOT NULL DEFAULT '',
    supervising_unit_id text REFERENCES units (id),
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cycles (
    id                 text PRIMARY KEY,
    name               text NOT NULL,
    start_date         date NOT NULL,
    covert_days        integer NOT NULL CHECK (covert_days > 0),
    rectification_days integer NOT NULL CHECK (rectification_days > 0),
    day_basis          text NOT NULL CHECK (day_basis IN ('calendar', 'working')),
    starts_at          timestamptz NOT NULL,
    covert_ends_at     timestamptz NOT NULL,
    closes_at          timestamptz NOT NULL,
    phase              text NOT NULL CHECK (phase IN ('covert', 'rectification', 'closed')),
    auto_next          boolean NOT NULL DEFAULT false,
    previous_cycle_id  text REFERENCES cycles (id),
    opened_by          text NOT NULL,
    fingerprint        text NOT NULL,
    created_at         timestamptz NOT NULL,
    released_at        timestamptz,
    closed_at          timestamptz,
    scorecard          jsonb,
    CHECK (starts_at < covert_ends_at AND covert_ends_at < closes_at)
);
-- The automatic successor of a cycle is opened once, whichever replica closes it.
CREATE UNIQUE INDEX cycles_one_successor ON cycles (previous_cycle_id) WHERE previous_cycle_id IS NOT NULL;

-- A unit is in at most one cycle at a time: the database refuses overlapping scopes.
CREATE TABLE cycle_units (
    cycle_id text NOT NULL REFERENCES cycles (id),
    unit_id  text NOT NULL REFERENCES units (id),
    period   tstzrange NOT NULL,
    PRIMARY KEY (cycle_id, unit_id),
    CONSTRAINT cycle_units_no_overlap EXCLUDE USING gist (unit_id WITH =, period WITH &&)
);

-- Sealed until the cycle's release: no unit-facing query reads this table.
CREATE TABLE findings (
    id                 text PRIMARY KEY,
    cycle_id           text NOT NULL REFERENCES cycles (id),
    township_unit_id   text REFERENCES units (id),
    department_unit_id text REFERENCES units (id),
    category           text NOT NULL,
    severity           text NOT NULL,
    hazard_key         text NOT NULL,
    place              text NOT NULL,
    latitude           double precision,
    longitude          double precision,
    description        text NOT NULL,
    evidence           jsonb NOT NULL DEFAULT '[]',
    recorded_by        text NOT NULL,
    recorded_role      text NOT NULL,
    recorded_at        timestamptz NOT NULL,
    fingerprint        text NOT NULL,
    released_at        timestamptz,
    CHECK (township_unit_id IS NOT NULL OR department_unit_id IS NOT NULL)
);
CREATE INDEX findings_cycle ON findings (cycle_id);
CREATE INDEX findings_recorder ON findings (recorded_by, recorded_at);

-- Circulated notices (通报), numbered per year: 〔2026〕12号.
CREATE TABLE notice_numbers (
    year integer PRIMARY KEY,
    last integer NOT NULL
);
CREATE TABLE notices (
    id        text PRIMARY KEY,
    year      integer NOT NULL,
    number    integer NOT NULL,
    unit_id   text NOT NULL REFERENCES units (id),
    cycle_id  text REFERENCES cycles (id),
    status    text NOT NULL CHECK (status IN ('open', 'closed')),
    issued_at timestamptz NOT NULL,
    closed_at timestamptz,
    UNIQUE (year, number)
);
-- One open notice per unit: a new task for the unit merges into it.
CREATE UNIQUE INDEX notices_one_open_per_unit ON notices (unit_id) WHERE status = 'open';

CREATE TABLE tasks (
    id            text PRIMARY KEY,
    unit_id       text REFERENCES units (id),
    origin        text NOT NULL CHECK (origin IN ('finding', 'hazard')),
    finding_id    text REFERENCES findings (id),
    hazard_id     text UNIQUE,
    cycle_id      text REFERENCES cycles (id),
    notice_id     text REFERENCES notices (id),
    category      text NOT NULL,
    severity      text NOT NULL,
    hazard_key    text NOT NULL,
    place         text NOT NULL,
    latitude      double precision,
    longitude     double precision,
    description   text NOT NULL,
    evidence      jsonb NOT NULL DEFAULT '[]',
    status        text NOT NULL CHECK (status IN ('triage', 'open', 'submitted', 'verified')),
    day_basis     text NOT NULL CHECK (day_basis IN ('calendar', 'working')),
    deadline      timestamptz NOT NULL,
    listed        boolean NOT NULL DEFAULT false,
    listed_note   text,
    opened_at     timestamptz NOT NULL,
    submitted_at  timestamptz,
    verified_at   timestamptz,
    overdue_at    timestamptz,
    rejections    integer NOT NULL DEFAULT 0,
    version       integer NOT NULL DEFAULT 1,
    CHECK (status = 'triage' OR unit_id IS NOT NULL)
);
-- One open task per (unit, hazard key), enforced here and not only by code: a second finding or report of
-- the same hazard for the same unit merges into the open task.
CREATE UNIQUE INDEX tasks_one_open_per_hazard ON tasks (unit_id, hazard_key) WHERE status <> 'verified';
CREATE INDEX tasks_unit ON tasks (unit_id, opened_at);
CREATE INDEX tasks_cycle ON tasks (cycle_id);
CREATE INDEX tasks_notice ON tasks (notice_id);

-- Findings that reached a task: the task's own finding, and findings merged into an open task.
CREATE TABLE task_findings (
    task_id    text NOT NULL REFERENCES tasks (id),
    finding_id text NOT NULL REFERENCES findings (id),
    PRIMARY KEY (task_id, finding_id)
);

CREATE TABLE rectifications (
    id           bigserial PRIMARY KEY,
    task_id      text NOT NULL REFERENCES tasks (id),
    submitted_by text NOT NULL,
    text         text NOT NULL,
    evidence     jsonb NOT NULL,
    submitted_at timestamptz NOT NULL
);
CREATE INDEX rectifications_task ON rectifications (task_id);

CREATE TABLE revisits (
    id         bigserial PRIMARY KEY,
    task_id    text NOT NULL REFERENCES tasks (id),
    inspector  text NOT NULL,
    outcome    text NOT NULL CHECK (outcome IN ('verified', 'rejected')),
    remaining  text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL
);
CREATE INDEX revisits_task ON revisits (task_id);

-- Accountability from the alerts service's escalation of a task's alert; one row per step and loop.
CREATE TABLE accountability (
    task_id  text NOT NULL REFERENCES tasks (id),
    alert_id text NOT NULL,
    step     integer NOT NULL,
    loop     integer NOT NULL,
    label    text NOT NULL,
    targets  jsonb NOT NULL DEFAULT '[]',
    at       timestamptz NOT NULL,
    event_id uuid NOT NULL,
    PRIMARY KEY (alert_id, step, loop)
);
CREATE INDEX accountability_task ON accountability (task_id);

-- The state of a task's alert as last applied, with the per-key sequence that set it (older ones are ignored).
CREATE TABLE task_alerts (
    dedup_key     text PRIMARY KEY,
    task_id       text NOT NULL REFERENCES tasks (id),
    alert_id      text,
    status        text NOT NULL,
    label         text,
    last_sequence bigint,
    updated_at    timestamptz NOT NULL
);

-- 全程留痕: every step of a task, who and when.
CREATE TABLE task_timeline (
    id      bigserial PRIMARY KEY,
    task_id text NOT NULL REFERENCES tasks (id),
    at      timestamptz NOT NULL,
    actor   text NOT NULL,
    action  text NOT NULL,
    detail  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX task_timeline_task ON task_timeline (task_id, id);
