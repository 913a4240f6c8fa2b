-- An operation service's first tables. IF NOT EXISTS throughout, as for every script up to 0005: a database made before
-- these scripts (by the single schema text applied at start) already has what they create, and must upgrade cleanly.

-- What this service's units have sent, as the status events tell it. Rebuildable from those events, so the
-- sender keeps no message body: the content travels only to the gate and on to the permitted receiver.
CREATE TABLE IF NOT EXISTS sent_messages (
    message_id        uuid PRIMARY KEY,
    sending_unit      text NOT NULL,
    receiving_unit    text NOT NULL,
    purpose           text NOT NULL,
    subject_pseudonym text NOT NULL,
    status            text NOT NULL,
    status_rank       int  NOT NULL,
    reasons           text[] NOT NULL DEFAULT '{}',
    basis             text,
    submitted_at      timestamptz,
    decided_at        timestamptz,
    delivered_at      timestamptz,
    acknowledged_at   timestamptz,
    withdrawn_at      timestamptz,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sent_messages_by_unit ON sent_messages (sending_unit, message_id);

-- What the gate has delivered to this service's units. The seq column is the paging cursor.
CREATE TABLE IF NOT EXISTS inbox (
    seq              bigserial PRIMARY KEY,
    message_id       uuid NOT NULL UNIQUE,
    receiving_unit   text NOT NULL,
    sending_unit     text NOT NULL,
    purpose          text NOT NULL,
    categories       text[] NOT NULL,
    subject_id       text NOT NULL,
    content          jsonb NOT NULL,
    basis            text NOT NULL,
    consent_id       uuid,
    trace_id         text,
    submitted_at     timestamptz NOT NULL,
    delivered_at     timestamptz NOT NULL,
    fetched_at       timestamptz,
    acknowledged_at  timestamptz,
    withdrawn_at     timestamptz
);
CREATE INDEX IF NOT EXISTS inbox_by_unit ON inbox (receiving_unit, seq);
