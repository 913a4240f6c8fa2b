-- A consent change that narrows it, or a grantor's custody change, takes the cover of some deliveries away (docs/
-- secrecy-gate.md, "Consent changes bite"): those are withdrawn by message id, and one still on its way is not stored.
CREATE TABLE IF NOT EXISTS withdrawn_deliveries (
    message_id   uuid PRIMARY KEY,
    consent_id   uuid NOT NULL,
    withdrawn_at timestamptz NOT NULL
);

-- A notice is one per receiving unit and revoked consent (change_id NULL, as before), or one per receiving unit, consent
-- and change that took cover from messages it had fetched.
ALTER TABLE revocation_notices ADD COLUMN IF NOT EXISTS change_id uuid;
ALTER TABLE revocation_notices DROP CONSTRAINT IF EXISTS revocation_notices_receiving_unit_consent_id_key;
CREATE UNIQUE INDEX IF NOT EXISTS revocation_notices_per_revocation ON revocation_notices (receiving_unit, consent_id) WHERE change_id IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS revocation_notices_per_change ON revocation_notices (receiving_unit, consent_id, change_id) WHERE change_id IS NOT NULL;

-- Least privilege, as 0007: withdrawals by message id are only ever added.
GRANT SELECT, INSERT ON withdrawn_deliveries TO hub_operation_dml;
