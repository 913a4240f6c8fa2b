-- A consent version dated ahead is swept twice: when recorded (what it replaced stops covering then) and when it takes
-- effect (a "no" in it vetoes from then). So a version may have more than one sweep, each recorded as of the instant the
-- gate decided at; the table is still only ever added to (0007).
ALTER TABLE coverage_sweeps DROP CONSTRAINT IF EXISTS coverage_sweeps_pkey;
ALTER TABLE coverage_sweeps ADD PRIMARY KEY (change_id, version, swept_at);
