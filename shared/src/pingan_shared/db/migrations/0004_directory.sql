-- The directory of places and organisations (pingan_shared.directory): every service's local copy of what the
-- directory's owner publishes (directory.entries, compacted), and in the owner's database the record itself.
-- version is the owner's per-code sequence: an entry is replaced only by a newer one, so a redelivered or
-- reordered event changes nothing. A place's parent is its parent place; an organisation's the place it serves.
CREATE TABLE directory_entries (
    code       text PRIMARY KEY,
    kind       text NOT NULL,
    name       text NOT NULL,
    parent     text,
    latitude   double precision,
    longitude  double precision,
    geometry   jsonb,
    retired    boolean NOT NULL DEFAULT false,
    version    bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX directory_entries_parent ON directory_entries (parent);
CREATE INDEX directory_entries_name ON directory_entries (name);
