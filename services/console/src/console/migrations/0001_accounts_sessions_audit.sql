-- The console's own data: who may sign in (accounts), who is signed in (sessions), the sign-in throttle's count
-- (signin_failures) and what was done (audit). Nothing of the four services is kept here.

CREATE TABLE accounts (
    username text PRIMARY KEY,            -- the sign-in name, lower case
    display_name text NOT NULL,
    role text NOT NULL,
    team_id text,                         -- the scope fields the role needs (domain/accounts.py says which)
    unit_id text,
    scope text,                           -- a place code of the directory: a supervisor's township
    member_id text,                       -- a member's id in roster: the subject of the member's tokens
    password_hash text NOT NULL,          -- argon2id, PHC string; never the password
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    password_changed_at timestamptz NOT NULL
);

-- The cookie holds a random id; only its SHA-256 is stored, so a copy of this table opens no session.
CREATE TABLE sessions (
    id_hash bytea PRIMARY KEY,
    username text NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    address text NOT NULL
);
CREATE INDEX sessions_by_account ON sessions (username);
CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at);

-- One row per failed sign-in, by the name typed (known or not: an unknown name is throttled alike, so the
-- throttle tells nobody which names exist) and by the client address.
CREATE TABLE signin_failures (
    id bigserial PRIMARY KEY,
    username text NOT NULL,
    address text NOT NULL,
    failed_at timestamptz NOT NULL
);
CREATE INDEX signin_failures_by_account ON signin_failures (username, failed_at);
CREATE INDEX signin_failures_by_address ON signin_failures (address, failed_at);

CREATE TABLE audit (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    kind text NOT NULL,                   -- domain/audit.py AuditKind
    actor text,                           -- who did it (null: nobody signed in, e.g. a failed sign-in)
    account text,                         -- the account it concerns
    address text,
    detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_by_time ON audit (id DESC);
CREATE INDEX audit_by_account ON audit (account, id DESC);
