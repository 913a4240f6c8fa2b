-- The consent service's first tables. IF NOT EXISTS throughout, as for every script up to 0004: a database made before
-- these scripts (by the single schema text applied at start) already has what they create, and must upgrade cleanly.

-- Every version of every consent; a change or revocation adds a version, nothing is updated in place.
CREATE TABLE IF NOT EXISTS consent_versions (
    consent_id        uuid NOT NULL,
    version           int  NOT NULL,
    subject_pseudonym text NOT NULL,
    state             text NOT NULL,
    record            jsonb NOT NULL,
    recorded_at       timestamptz NOT NULL,
    PRIMARY KEY (consent_id, version)
);
CREATE INDEX IF NOT EXISTS consent_versions_by_subject ON consent_versions (subject_pseudonym);

-- The decision ledger: append-only and hash-chained. One entry of each kind per message.
CREATE TABLE IF NOT EXISTS ledger (
    seq               bigint PRIMARY KEY,
    message_id        uuid NOT NULL,
    kind              text NOT NULL,
    outcome           text NOT NULL,
    sending_unit      text NOT NULL,
    receiving_unit    text NOT NULL,
    acting_system     text NOT NULL,
    acting_user       text,
    subject_pseudonym text NOT NULL,
    purpose           text NOT NULL,
    categories        text[] NOT NULL,
    basis             text,
    consent_id        uuid,
    reasons           text[] NOT NULL,
    review            boolean NOT NULL,
    at                timestamptz NOT NULL,
    prev_hash         bytea NOT NULL,
    hash              bytea NOT NULL,
    UNIQUE (message_id, kind)
);
CREATE INDEX IF NOT EXISTS ledger_by_subject ON ledger (subject_pseudonym, seq);

-- Append-only in the database too: an UPDATE or DELETE on the ledger is refused whoever attempts it.
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the decision ledger is append-only';
END $$;
DROP TRIGGER IF EXISTS ledger_append_only ON ledger;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
