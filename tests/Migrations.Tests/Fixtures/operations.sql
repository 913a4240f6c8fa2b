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

-- A receiving unit's webhook, instead of polling (docs/webhooks.md). The secret signs every push.
CREATE TABLE IF NOT EXISTS webhooks (
    receiving_unit text PRIMARY KEY,
    url            text NOT NULL,
    secret         bytea NOT NULL,
    registered_at  timestamptz NOT NULL
);

-- Push state lives on the rows themselves, so a crash loses no push: the dispatcher picks what is still owed.
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS pushed_at timestamptz;
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS push_attempts int NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS next_push_at timestamptz;
CREATE INDEX IF NOT EXISTS inbox_to_push ON inbox (seq)
    WHERE fetched_at IS NULL AND acknowledged_at IS NULL AND withdrawn_at IS NULL;
ALTER TABLE revocation_notices ADD COLUMN IF NOT EXISTS pushed_at timestamptz;
ALTER TABLE revocation_notices ADD COLUMN IF NOT EXISTS push_attempts int NOT NULL DEFAULT 0;
ALTER TABLE revocation_notices ADD COLUMN IF NOT EXISTS next_push_at timestamptz;

-- DeliveryFailed ranks between the permit and the delivery, so the ranks after it moved up by one. A row written
-- before has its old rank; renumbered, it no longer matches, so this changes each row once.
UPDATE sent_messages SET status_rank = status_rank + 1
WHERE (status = 'Delivered' AND status_rank = 2) OR (status = 'Acknowledged' AND status_rank = 3) OR (status = 'Withdrawn' AND status_rank = 4);

-- The fingerprint of the first request made with each Idempotency-Key (docs/design-decisions.md, "A permit is
-- bound to one message"). Keyed by the message id, which is derived from (sending unit, key), so the key itself,
-- which a client may fill with anything, is not kept. Kept as long as the gate's ledger keeps decisions.
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
