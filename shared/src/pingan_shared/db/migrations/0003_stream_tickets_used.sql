-- Stream tickets that have opened a stream (pingan_shared.http.tickets): a ticket opens one stream, once, on
-- whichever replica of its service; the replicas share this database, so the first to record a ticket's id
-- (INSERT ... ON CONFLICT DO NOTHING) is the one that opens the stream.

-- expires_at is the ticket's own expiry (as signed, on the service clock). A row is needed only while some
-- replica could still accept the ticket; the service prunes rows well past that as it records new ones.
CREATE TABLE stream_tickets_used (
    jti        text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX stream_tickets_used_expiry ON stream_tickets_used (expires_at);
