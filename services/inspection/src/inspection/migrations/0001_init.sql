-- inspection: its domain tables arrive with the inspection issue. This first migration records the service's
-- own schema version so readiness can tell that its migrations ran.
CREATE TABLE inspection_meta (key text PRIMARY KEY, value text NOT NULL);
INSERT INTO inspection_meta (key, value) VALUES ('schema', 'skeleton');
