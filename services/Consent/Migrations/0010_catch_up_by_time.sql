-- The catch-up loops (ConsentLedger, RevocationAnnouncer, CoverageWithdrawals) read, between two passes that found
-- everything done, only what was recorded or took effect in the last minutes (CatchUpPasses); without an index on those
-- times every pass read every consent version ever recorded, and the ledger with them (CatchUpQueryPlanTests).
CREATE INDEX IF NOT EXISTS consent_versions_by_time ON consent_versions (recorded_at);
CREATE INDEX IF NOT EXISTS custody_changes_by_time ON custody_changes (recorded_at);
CREATE INDEX IF NOT EXISTS custody_changes_by_effect ON custody_changes (no_longer_guardian_from);
