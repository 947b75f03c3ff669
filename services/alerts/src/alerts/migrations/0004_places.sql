-- Alerts speak in the directory's codes (pingan_shared.directory). An alert keeps, from when it was raised, the
-- place it is about (place), that place's lineage upwards with the unit's code in front when it has one
-- (places: a scope, a silence, a ladder target matches by membership), the township it lies in, and the names
-- for display. Existing alerts have no place (the directory came after them): they are matched by unit and area
-- as before, and the migration's note in alerts_meta says how many.
ALTER TABLE alerts ADD COLUMN place text;
ALTER TABLE alerts ADD COLUMN places text[] NOT NULL DEFAULT '{}';
ALTER TABLE alerts ADD COLUMN township text;
ALTER TABLE alerts ADD COLUMN place_name text;
ALTER TABLE alerts ADD COLUMN unit_name text;
CREATE INDEX alerts_places ON alerts USING gin (places);

-- A silence by place holds every alert in that place or beneath it (a township's typhoon day).
ALTER TABLE silences ADD COLUMN place text;

-- A notification on the live stream is shown to those whose scope covers the alert's places.
ALTER TABLE deliveries ADD COLUMN places text[] NOT NULL DEFAULT '{}';

INSERT INTO alerts_meta (key, value)
SELECT 'alerts-without-place', count(*)::text FROM alerts
ON CONFLICT (key) DO UPDATE SET value = excluded.value;
