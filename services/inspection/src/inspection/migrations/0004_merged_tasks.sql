-- A triage task assigned to a unit that already has the same hazard open merges into that task and ends there:
-- status 'merged', naming the task it lives on in. Like a verified task it no longer holds its (unit, hazard key)
-- place in the one-open-task index.
ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_status_check
    CHECK (status IN ('triage', 'open', 'submitted', 'verified', 'merged'));
ALTER TABLE tasks ADD COLUMN merged_into_task_id text REFERENCES tasks (id);
ALTER TABLE tasks ADD CONSTRAINT tasks_merged_names_its_task CHECK ((status = 'merged') = (merged_into_task_id IS NOT NULL));
DROP INDEX tasks_one_open_per_hazard;
CREATE UNIQUE INDEX tasks_one_open_per_hazard ON tasks (unit_id, hazard_key) WHERE status NOT IN ('verified', 'merged');

-- Why a cycle that asked for its successor got none at its close (the close itself always goes through).
ALTER TABLE cycles ADD COLUMN successor_note text;
