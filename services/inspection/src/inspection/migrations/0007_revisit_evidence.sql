-- A revisit carries its own evidence (回访 photos of what the inspector found), beside the unit's rectification's.
ALTER TABLE revisits ADD COLUMN evidence jsonb NOT NULL DEFAULT '[]';
