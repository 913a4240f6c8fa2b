-- Reviews of flagged disclosures (docs/accountability.md): one per decision's message id, never changed. The note is the
-- reviewer's free text, personal data, and stays here; the ledger's "reviewed" entry holds only its digest.
CREATE TABLE IF NOT EXISTS disclosure_reviews (
    message_id       uuid PRIMARY KEY,
    responsible_unit text NOT NULL,
    reviewed_at      timestamptz NOT NULL,
    reviewed_by      text NOT NULL,
    acting_system    text NOT NULL,
    note             text NOT NULL
);

-- Least privilege, as 0006: only ever added to.
GRANT SELECT, INSERT ON disclosure_reviews TO hub_consent_dml;
