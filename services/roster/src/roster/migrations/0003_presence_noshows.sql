-- roster: presence and no-shows per shift member, and the secrets of the iCalendar feeds.

-- One row per member on a published shift (made when its presence check is scheduled, or by the first
-- presence): whether and when the member was there, and whether the no-show fired. The no-show timer and
-- every presence lock this row, so a no-show fires at most once and a presence after it resolves it once.
CREATE TABLE shift_presence (
    shift_id      text NOT NULL REFERENCES shifts (shift_id) ON DELETE CASCADE,
    member_id     text NOT NULL REFERENCES members (member_id),
    present_at    timestamptz,  -- the earliest presence: a scan's device time in the window, or a check-in
    source        text CHECK (source IN ('scan', 'check-in')),  -- what gave present_at
    scans         integer NOT NULL DEFAULT 0,  -- accepted scans of the member inside the shift's window
    checked_in_at timestamptz,  -- the explicit check-in, if any (also when a scan came first)
    checked_in_by text,         -- the token subject who checked in (the member, or an organiser)
    no_show_at    timestamptz,  -- when the no-show fired (once)
    resolved_at   timestamptz,  -- when a presence after the no-show resolved its alert (once)
    PRIMARY KEY (shift_id, member_id),
    CHECK ((present_at IS NULL) = (source IS NULL)),
    CHECK (resolved_at IS NULL OR (no_show_at IS NOT NULL AND present_at IS NOT NULL))
);
CREATE INDEX shift_presence_member ON shift_presence (member_id);

-- An iCalendar feed's secret: phone calendars cannot send a bearer header, so the feed URL carries an
-- unguessable token. Only its SHA-256 is stored; the token is shown once, when made. One live token per
-- member or team: making a new one revokes the old (rotation), and a token can be revoked outright.
CREATE TABLE feed_tokens (
    token_sha256 bytea PRIMARY KEY,
    owner_kind   text NOT NULL CHECK (owner_kind IN ('member', 'team')),
    owner_id     text NOT NULL,
    created_at   timestamptz NOT NULL,
    created_by   text NOT NULL,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX feed_tokens_one_live ON feed_tokens (owner_kind, owner_id) WHERE revoked_at IS NULL;
