-- Revocation takes effect at once: what is stored under a revoked consent is found by it and withdrawn.
CREATE INDEX IF NOT EXISTS inbox_by_consent ON inbox (consent_id) WHERE consent_id IS NOT NULL;

-- Consents this service has been told are revoked: nothing more is stored under them.
CREATE TABLE IF NOT EXISTS revoked_consents (
    consent_id uuid PRIMARY KEY,
    revoked_at timestamptz NOT NULL
);

-- What a receiving unit had already fetched when the consent behind it was revoked: the receiving system must
-- be told, since the hub can no longer withhold it.
CREATE TABLE IF NOT EXISTS revocation_notices (
    seq            bigserial PRIMARY KEY,
    receiving_unit text NOT NULL,
    consent_id     uuid NOT NULL,
    message_ids    uuid[] NOT NULL,
    revoked_at     timestamptz NOT NULL,
    UNIQUE (receiving_unit, consent_id)
);
