-- The keys stream tickets are signed with (pingan_shared.http.tickets). Each process of a service makes its own
-- random key when it starts and keeps it in memory; it writes it here, named by its kid, when it issues a ticket,
-- so that another replica of the same service can open a stream with that ticket. Only this service's processes
-- read this database; a ticket key opens streams of this service only and never verifies a bearer token.

-- last_used_at: when the key last signed a ticket (the service clock). A row is needed only while a ticket it
-- signed could still be accepted; the service prunes rows well past that as it issues new tickets.
CREATE TABLE stream_ticket_keys (
    kid          text PRIMARY KEY,
    secret       bytea NOT NULL,
    last_used_at timestamptz NOT NULL
);
CREATE INDEX stream_ticket_keys_last_used ON stream_ticket_keys (last_used_at);
