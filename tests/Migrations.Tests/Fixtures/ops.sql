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
-- Refused access, metadata only: client id or certificate thumbprint prefix, route pattern, registered unit, reason.
CREATE TABLE IF NOT EXISTS access_refusals (
    seq         bigserial PRIMARY KEY,
    client      text NOT NULL,
    route       text NOT NULL,
    unit        text,
    reason      text NOT NULL,
    status      int NOT NULL,
    count       int NOT NULL,
    first_at    timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS access_refusals_by_client ON access_refusals (client, seq);
CREATE INDEX IF NOT EXISTS access_refusals_by_time ON access_refusals (last_at);
