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
