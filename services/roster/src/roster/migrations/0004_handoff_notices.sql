-- Handoff reminders: a durable timer per published shift fires ROSTER_HANDOFF_REMINDER_MINUTES before it starts
-- and leaves one notice per member on it (read by the member at GET /v1/me/notices). A member who joins the
-- shift later (a swap) gets theirs when the timer is re-armed; nobody gets the same shift's reminder twice.
CREATE TABLE member_notices (
    id         bigserial PRIMARY KEY,
    member_id  text NOT NULL REFERENCES members (member_id),
    shift_id   text NOT NULL REFERENCES shifts (shift_id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('handoff')),
    text       text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (shift_id, member_id, kind)
);
CREATE INDEX member_notices_member ON member_notices (member_id, id);
