-- alerts: its domain tables arrive with the alerts issue. This first migration records the service's
-- own schema version so readiness can tell that its migrations ran.
CREATE TABLE alerts_meta (key text PRIMARY KEY, value text NOT NULL);
INSERT INTO alerts_meta (key, value) VALUES ('schema', 'skeleton');
