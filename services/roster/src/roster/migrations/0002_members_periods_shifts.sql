-- roster: who (organisations, members), what (programmes, periods, cohorts, duties), the roster (shifts and
-- their assignments per roster version), how it is made (solve jobs, drafts) and how it changes (swaps,
-- overrides). Times are stored in UTC; a shift's local day is in Asia/Shanghai (PINGAN_TIMEZONE).

CREATE TABLE organisations (
    org_id     text PRIMARY KEY,
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('village-patrol-team', 'security-company', 'militia-unit',
                                               'police-station')),
    area       text,
    created_at timestamptz NOT NULL
);

-- A member is one person. team_id + app_member_id say how the person appears in patrol scans (a team app
-- sends its own member id, often a name, unique only within the team): attendance maps scans through them.
CREATE TABLE members (
    member_id     text PRIMARY KEY,
    name          text NOT NULL,
    org_id        text NOT NULL REFERENCES organisations (org_id),
    role          text NOT NULL CHECK (role IN ('police', 'patrol-member', 'activist', 'guard', 'militia')),
    skills        text[] NOT NULL DEFAULT '{}',
    phone         text,
    email         text,
    team_id       text,
    app_member_id text,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX members_org ON members (org_id);
CREATE UNIQUE INDEX members_team_app_id ON members (team_id, app_member_id)
    WHERE team_id IS NOT NULL AND app_member_id IS NOT NULL;

-- Days a member cannot serve (leave, work, illness), inclusive local dates.
CREATE TABLE member_unavailability (
    id        bigserial PRIMARY KEY,
    member_id text NOT NULL REFERENCES members (member_id) ON DELETE CASCADE,
    from_day  date NOT NULL,
    to_day    date NOT NULL,
    reason    text NOT NULL DEFAULT '',
    CHECK (from_day <= to_day)
);
CREATE INDEX member_unavailability_member ON member_unavailability (member_id, from_day);

-- A rotation programme (轮值轮训) at city (市级) or township (乡镇) level.
CREATE TABLE programmes (
    programme_id text PRIMARY KEY,
    name         text NOT NULL,
    level        text NOT NULL CHECK (level IN ('city', 'township')),
    area         text,
    created_at   timestamptz NOT NULL
);

-- A period (期): dates, its cohort, its rules (limits such as max consecutive nights, as JSON the domain
-- validates), and where its roster stands. published_version counts the roster versions published so far.
CREATE TABLE periods (
    period_id         text PRIMARY KEY,
    programme_id      text NOT NULL REFERENCES programmes (programme_id),
    name              text NOT NULL,
    starts_on         date NOT NULL,
    ends_on           date NOT NULL,
    rules             jsonb NOT NULL DEFAULT '{}',
    published_version integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL,
    CHECK (starts_on <= ends_on)
);
CREATE INDEX periods_programme ON periods (programme_id, starts_on);

CREATE TABLE period_members (
    period_id text NOT NULL REFERENCES periods (period_id) ON DELETE CASCADE,
    member_id text NOT NULL REFERENCES members (member_id),
    PRIMARY KEY (period_id, member_id)
);
CREATE INDEX period_members_member ON period_members (member_id);

-- A duty repeats on the period's days: day training, or a night duty on an area/route. Its composition
-- (e.g. {"min_by_role": {"police": 1}, "min_civilians": 3, "max_share_per_org": 0.5}) is JSON the domain
-- validates. A night patrol names the patrol team and route patrol plans rounds for.
CREATE TABLE duties (
    duty_id         text PRIMARY KEY,
    period_id       text NOT NULL REFERENCES periods (period_id) ON DELETE CASCADE,
    kind            text NOT NULL,
    title           text NOT NULL,
    area            text,
    route_id        text,
    team_id         text,
    start_time      time NOT NULL,
    end_time        time NOT NULL,  -- earlier than start_time: the duty ends the next day
    weekdays        smallint[] NOT NULL DEFAULT '{1,2,3,4,5,6,7}',  -- ISO weekdays it runs on
    required_size   integer NOT NULL CHECK (required_size > 0),
    composition     jsonb NOT NULL DEFAULT '{}',
    required_skills text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL
);
CREATE INDEX duties_period ON duties (period_id);

-- A member's wish for or against a duty on a day (a soft rule, weighted).
CREATE TABLE member_requests (
    id        bigserial PRIMARY KEY,
    period_id text NOT NULL REFERENCES periods (period_id) ON DELETE CASCADE,
    member_id text NOT NULL REFERENCES members (member_id),
    day       date NOT NULL,
    duty_id   text REFERENCES duties (duty_id) ON DELETE CASCADE,  -- NULL: any duty that day
    wants     boolean NOT NULL,
    weight    integer NOT NULL DEFAULT 1 CHECK (weight > 0)
);
CREATE INDEX member_requests_period ON member_requests (period_id);

-- One occurrence of a duty on a local day. Created with the duty; status cancelled once it no longer
-- happens. roster_version is the version that last set its assignees (0: never published); sequence counts
-- its published states (assigned, changed, cancelled) so a swap's change follows its publish.
CREATE TABLE shifts (
    shift_id       text PRIMARY KEY,
    period_id      text NOT NULL REFERENCES periods (period_id) ON DELETE CASCADE,
    duty_id        text NOT NULL REFERENCES duties (duty_id) ON DELETE CASCADE,
    day            date NOT NULL,
    kind           text NOT NULL,
    title          text NOT NULL,
    area           text,
    route_id       text,
    team_id        text,
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    status         text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'published', 'cancelled')),
    roster_version integer NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL,
    UNIQUE (duty_id, day),
    CHECK (starts_at < ends_at)
);
CREATE INDEX shifts_period_day ON shifts (period_id, day);
CREATE INDEX shifts_team_day ON shifts (team_id, day) WHERE team_id IS NOT NULL;
CREATE INDEX shifts_starts ON shifts (starts_at);

-- Who is on a published shift now (after swaps and overrides). source: solver, swap, override.
CREATE TABLE shift_assignments (
    shift_id       text NOT NULL REFERENCES shifts (shift_id) ON DELETE CASCADE,
    member_id      text NOT NULL REFERENCES members (member_id),
    roster_version integer NOT NULL,
    source         text NOT NULL CHECK (source IN ('solver', 'swap', 'override')),
    assigned_at    timestamptz NOT NULL,
    PRIMARY KEY (shift_id, member_id)
);
CREATE INDEX shift_assignments_member ON shift_assignments (member_id);

-- A solve: a durable job a background worker claims (lease), with its progress and result.
CREATE TABLE solve_jobs (
    job_id        text PRIMARY KEY,
    period_id     text NOT NULL REFERENCES periods (period_id) ON DELETE CASCADE,
    status        text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'infeasible', 'failed')),
    time_limit_s  double precision NOT NULL,
    replan        boolean NOT NULL DEFAULT false,
    requested_by  text NOT NULL,
    requested_at  timestamptz NOT NULL,
    started_at    timestamptz,
    finished_at   timestamptz,
    attempts      integer NOT NULL DEFAULT 0,
    lease_until   timestamptz,
    progress      jsonb NOT NULL DEFAULT '{}',  -- objective, bound, elapsed_s of the last improving solution
    result        jsonb,                        -- solver status, objective, bound, explanation
    error         text
);
CREATE INDEX solve_jobs_pending ON solve_jobs (requested_at) WHERE status IN ('queued', 'running');
CREATE INDEX solve_jobs_period ON solve_jobs (period_id, requested_at);

-- A draft roster: a solve's result, published (whole) into shift_assignments as a new roster version.
CREATE TABLE roster_drafts (
    draft_id     text PRIMARY KEY,
    period_id    text NOT NULL REFERENCES periods (period_id) ON DELETE CASCADE,
    job_id       text NOT NULL REFERENCES solve_jobs (job_id) ON DELETE CASCADE,
    objective    double precision,
    bound        double precision,
    created_at   timestamptz NOT NULL,
    published_as integer,  -- the roster version it became
    published_at timestamptz
);
CREATE TABLE draft_assignments (
    draft_id  text NOT NULL REFERENCES roster_drafts (draft_id) ON DELETE CASCADE,
    shift_id  text NOT NULL REFERENCES shifts (shift_id) ON DELETE CASCADE,
    member_id text NOT NULL REFERENCES members (member_id),
    PRIMARY KEY (draft_id, shift_id, member_id)
);

-- A member asks to hand their shift to another member (or to anyone the organiser finds); an organiser
-- approves (checked against the hard rules) or refuses.
CREATE TABLE swap_requests (
    request_id      text PRIMARY KEY,
    shift_id        text NOT NULL REFERENCES shifts (shift_id) ON DELETE CASCADE,
    from_member_id  text NOT NULL REFERENCES members (member_id),
    to_member_id    text REFERENCES members (member_id),
    note            text NOT NULL DEFAULT '',
    status          text NOT NULL CHECK (status IN ('pending', 'approved', 'refused', 'withdrawn')),
    requested_by    text NOT NULL,
    requested_at    timestamptz NOT NULL,
    decided_by      text,
    decided_at      timestamptz,
    decision_reason text
);
CREATE INDEX swap_requests_shift ON swap_requests (shift_id);
CREATE UNIQUE INDEX swap_requests_one_pending ON swap_requests (shift_id, from_member_id)
    WHERE status = 'pending';

-- An organiser's direct change of who is on a shift (or an approved swap): the audit trail of changes.
CREATE TABLE overrides (
    override_id       text PRIMARY KEY,
    shift_id          text NOT NULL REFERENCES shifts (shift_id) ON DELETE CASCADE,
    removed_member_id text REFERENCES members (member_id),
    added_member_id   text REFERENCES members (member_id),
    swap_request_id   text REFERENCES swap_requests (request_id),
    reason            text NOT NULL DEFAULT '',
    set_by            text NOT NULL,
    set_at            timestamptz NOT NULL,
    CHECK (removed_member_id IS NOT NULL OR added_member_id IS NOT NULL)
);
CREATE INDEX overrides_shift ON overrides (shift_id);
