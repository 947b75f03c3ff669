-- Which task each patrol hazard report went to (opened or merged into): a report re-sent under a new event id is
-- recognised by its hazard id in one index lookup, and the database refuses applying one report twice.
CREATE TABLE hazard_reports (
    hazard_id   text PRIMARY KEY,
    task_id     text NOT NULL REFERENCES tasks (id),
    reported_at timestamptz NOT NULL,
    applied_at  timestamptz NOT NULL
);
CREATE INDEX hazard_reports_task ON hazard_reports (task_id);
