-- A consent version dated ahead is swept twice: when recorded (what it replaced stops covering then) and when it takes
-- effect (a "no" in it vetoes from then). So a version may have more than one sweep, each recorded as of the instant the
-- gate decided at; the table is still only ever added to (0007).
ALTER TABLE coverage_sweeps DROP CONSTRAINT IF EXISTS coverage_sweeps_pkey;
ALTER TABLE coverage_sweeps ADD PRIMARY KEY (change_id, version, swept_at);

-- And the sweeper must find such a version soon after its start, not only on its hourly pass over everything: each
-- version's start beside its record (written with it; filled in here for the versions before), indexed like its time.
ALTER TABLE consent_versions ADD COLUMN IF NOT EXISTS valid_from timestamptz;
UPDATE consent_versions SET valid_from = (record->>'validFrom')::timestamptz WHERE valid_from IS NULL AND record ? 'validFrom';
CREATE INDEX IF NOT EXISTS consent_versions_by_start ON consent_versions (valid_from);
