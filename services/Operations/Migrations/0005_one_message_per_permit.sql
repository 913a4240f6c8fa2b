-- A permit is bound to one message (docs/design-decisions.md).

-- The fingerprint of the first request made with each Idempotency-Key. Keyed by the message id, which is derived from
-- (sending unit, key), so the key itself, which a client may fill with anything, is not kept. Kept as long as the gate's
-- ledger keeps decisions.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    message_id    uuid PRIMARY KEY,
    sending_unit  text NOT NULL,
    fingerprint   bytea NOT NULL,
    first_seen_at timestamptz NOT NULL,
    confirmed_at  timestamptz
);

-- A second, different submission under a message id the gate had already decided: never delivered; the sender
-- sees when (metadata only), the decided message's own status stands.
ALTER TABLE sent_messages ADD COLUMN IF NOT EXISTS conflict_at timestamptz;

-- The digest of the submission delivered (SubmissionDigest): a redelivery must be the same message to count as
-- delivered again; another body under the same id never replaces the row.
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS digest bytea;
