-- What the broker acknowledged, so the relay can tell a broker that came back having lost it (the embedded broker
-- keeps its log in memory; a real Kafka can lose a tail in an unclean leader election). messaging/broker_loss.py.

-- Per topic partition, the offsets of the latest relay batch the broker acknowledged there: upserted once per batch,
-- in the transaction that marks the batch's rows sent. A broker that hands out an offset at or below high_offset
-- again, or whose end offset is at or below low_offset, has lost what it acknowledged. (low, not high, for the end
-- offset: the embedded tansu broker reports the end of a multi-record batch as its base offset + 1.)
CREATE TABLE outbox_acknowledged (
    topic           text NOT NULL,
    partition       integer NOT NULL,
    low_offset      bigint NOT NULL,
    high_offset     bigint NOT NULL,
    acknowledged_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);

-- Each loss the relay found, and how many kept rows it put back to be published again (sent_at cleared). The live
-- views of the service watch the latest id to rebuild themselves from the record.
CREATE TABLE broker_losses (
    id          bigserial PRIMARY KEY,
    detected_at timestamptz NOT NULL DEFAULT now(),
    how         text NOT NULL,
    partitions  text[] NOT NULL,
    republished integer NOT NULL
);
