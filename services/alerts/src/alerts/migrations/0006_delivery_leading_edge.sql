-- Leading-edge bundling asks, for each recipient and channel with notifications waiting, when its last message was
-- made (nothing within the bundle window: the next one leaves at once; else it waits for the window's end).
CREATE INDEX delivery_messages_last_by_recipient ON delivery_messages (recipient, channel, created_at);
