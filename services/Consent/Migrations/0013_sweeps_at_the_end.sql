-- A consent is never valid past its end (domain.md section 3), so its end sweeps it as a change would: what it let
-- through and the receiving system has not fetched is withdrawn within seconds of the end (CoverageWithdrawals). The
-- sweeper finds such a version by its end, beside its record like its start (0011), indexed. A lapse is recorded as a
-- sweep of the version decided at or after its end; the versions that ended before this migration are swept by the
-- first passes after it (nothing was announced for them before, so nothing is announced twice).
ALTER TABLE consent_versions ADD COLUMN IF NOT EXISTS valid_until timestamptz;
UPDATE consent_versions SET valid_until = (record->>'validUntil')::timestamptz WHERE valid_until IS NULL AND record ? 'validUntil';
CREATE INDEX IF NOT EXISTS consent_versions_by_end ON consent_versions (valid_until);
