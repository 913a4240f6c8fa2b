-- The ops console (issue 13): one row per message for search, the service that said each step, and the submission
-- time that operations measure submit -> delivered from. Metadata only, as message_events.
ALTER TABLE message_events ADD COLUMN IF NOT EXISTS publisher text;
ALTER TABLE message_events ADD COLUMN IF NOT EXISTS submitted_at timestamptz;

-- Each message as it stands: its latest step, when it was sent, when it last moved. Search reads this table, not the
-- steps, so that a page of one million messages is an index range, whatever the filters.
CREATE TABLE IF NOT EXISTS messages (
    message_id        uuid PRIMARY KEY,
    sending_unit      text NOT NULL,
    receiving_unit    text NOT NULL,
    sending_operation   text NOT NULL,
    receiving_operation text NOT NULL,
    family_centre     text,
    purpose           text NOT NULL,
    subject_pseudonym text NOT NULL,
    basis             text,
    status            text NOT NULL,
    submitted_at      timestamptz,
    sent_at           timestamptz NOT NULL,
    last_at           timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (sent_at DESC, message_id DESC);
CREATE INDEX IF NOT EXISTS messages_by_sender ON messages (sending_unit, sent_at DESC, message_id DESC);
CREATE INDEX IF NOT EXISTS messages_by_receiver ON messages (receiving_unit, sent_at DESC, message_id DESC);
CREATE INDEX IF NOT EXISTS messages_by_subject ON messages (subject_pseudonym, sent_at DESC, message_id DESC);
CREATE INDEX IF NOT EXISTS messages_by_status ON messages (status, sent_at DESC, message_id DESC);
CREATE INDEX IF NOT EXISTS message_events_by_status_time ON message_events (status, occurred_at);

INSERT INTO messages (message_id, sending_unit, receiving_unit, sending_operation, receiving_operation, family_centre, purpose,
                      subject_pseudonym, basis, status, sent_at, last_at)
SELECT DISTINCT ON (message_id) message_id, sending_unit, receiving_unit, sending_operation, receiving_operation, family_centre, purpose, subject_pseudonym,
       basis, status, min(occurred_at) OVER (PARTITION BY message_id), occurred_at
FROM message_events WHERE status <> 'Conflict'
ORDER BY message_id, occurred_at DESC
ON CONFLICT (message_id) DO NOTHING;

GRANT SELECT, INSERT, UPDATE ON messages TO hub_ops_dml;
