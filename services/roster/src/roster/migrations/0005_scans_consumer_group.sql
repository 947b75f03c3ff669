-- The scan consumer's group is renamed from roster.attendance (the name of a topic roster publishes) to
-- roster.scans (what it consumes, as every group is named). A new group starts from the topic's earliest retained
-- offset; with the old group's inbox rows carried over, every scan it handled is a duplicate to the new group, so
-- no scan is tallied twice. (The inbox outlives the topics' retention, so no retained scan lacks its row.) The
-- inbox names a group with the deployment's topic prefix (PINGAN_KAFKA_TOPIC_PREFIX) in front: it is kept.
UPDATE inbox
SET consumer_group = left(consumer_group, length(consumer_group) - length('roster.attendance')) || 'roster.scans'
WHERE right(consumer_group, length('roster.attendance')) = 'roster.attendance';
