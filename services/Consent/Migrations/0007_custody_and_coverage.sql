-- Custody changes (docs/secrecy-gate.md, "Consent changes bite"): a unit told the hub that a grantor no longer acts for
-- the subject. Pseudonyms only, never the identity numbers; added, never updated (the earliest time per grantor counts).
CREATE TABLE IF NOT EXISTS custody_changes (
    id                      uuid PRIMARY KEY,
    subject_pseudonym       text NOT NULL,
    grantor_pseudonym       text NOT NULL,
    no_longer_guardian_from timestamptz NOT NULL,
    recorded_at             timestamptz NOT NULL,
    recorded_by             text NOT NULL,
    recording_unit          text NOT NULL,
    acting_system           text NOT NULL,
    journal_reference       text
);
CREATE INDEX IF NOT EXISTS custody_changes_by_subject ON custody_changes (subject_pseudonym);

-- Which consent versions (version > 0) and custody changes (version 0) have had the deliveries they no longer cover
-- announced to the receivers (the broker confirmed).
CREATE TABLE IF NOT EXISTS coverage_sweeps (
    change_id uuid NOT NULL,
    version   int  NOT NULL,
    swept_at  timestamptz NOT NULL,
    PRIMARY KEY (change_id, version)
);

-- Least privilege, as 0006: only ever added to.
GRANT SELECT, INSERT ON custody_changes, coverage_sweeps TO hub_consent_dml;
