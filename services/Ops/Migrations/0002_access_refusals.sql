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
