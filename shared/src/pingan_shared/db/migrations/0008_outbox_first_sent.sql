-- When a row was first published, whatever republishing after broker losses did to sent_at since
-- (messaging/broker_loss.py). The republish window and the housekeeping purge count from it: counted from sent_at,
-- which every republish renews, losses less than a window apart would keep republishing the same rows and never
-- purge them, until one outlived the inboxes' retention and was applied twice.
ALTER TABLE outbox ADD COLUMN first_sent_at timestamptz;

-- Rows sent before this migration: their latest send is the best known (a row republished before counts from then).
UPDATE outbox SET first_sent_at = sent_at WHERE sent_at IS NOT NULL;

-- The reset after a loss (the window's rows) and the purge (rows past the retention) read the kept rows by it,
-- instead of scanning the whole kept outbox.
CREATE INDEX outbox_first_sent ON outbox (first_sent_at) WHERE sent_at IS NOT NULL;
