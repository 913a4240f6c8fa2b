-- Finds a consent version's ledger entry (and one still missing: ConsentLedger).
CREATE INDEX IF NOT EXISTS ledger_by_consent ON ledger (consent_id) WHERE consent_id IS NOT NULL;
