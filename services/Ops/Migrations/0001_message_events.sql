-- Ops's first table. IF NOT EXISTS, as in 0002: a database made before these scripts (by the single schema text applied
-- at start) already has what they create, and must upgrade cleanly.

-- Lifecycle events as they arrived: metadata only, one row per message and status.
CREATE TABLE IF NOT EXISTS message_events (
    message_id          uuid NOT NULL,
    status              text NOT NULL,
    sending_unit        text NOT NULL,
    receiving_unit      text NOT NULL,
    sending_operation   text NOT NULL,
    receiving_operation text NOT NULL,
    family_centre       text,
    purpose             text NOT NULL,
    subject_pseudonym   text NOT NULL,
    basis               text,
    reasons             text[] NOT NULL,
    occurred_at         timestamptz NOT NULL,
    PRIMARY KEY (message_id, status)
);
CREATE INDEX IF NOT EXISTS message_events_by_time ON message_events (occurred_at);
