-- The digest of the whole submission a decision (or a conflict) is about (SubmissionDigest), covered by the entry's
-- hash. Entries written before it have none and hash as they always did.
ALTER TABLE ledger ADD COLUMN IF NOT EXISTS digest bytea;
