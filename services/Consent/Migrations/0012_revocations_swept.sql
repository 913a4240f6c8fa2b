-- From this version on a revocation is swept too (a delivery that another consent had kept covered loses that cover
-- with it), and so is a first version whose answer in part limits the subject's other consents. Those recorded before
-- were swept, or not, under the rules of their day: they are marked swept, so that the upgrade does not announce years
-- of them to the receivers again at once.
INSERT INTO coverage_sweeps (change_id, version, swept_at)
SELECT v.consent_id, v.version, now()
FROM consent_versions v
WHERE (v.state = 'Revoked'
       OR (v.version = 1 AND EXISTS (SELECT 1 FROM jsonb_array_elements(v.record->'grantors') g WHERE g->>'answer' = 'Partial')))
  AND NOT EXISTS (SELECT 1 FROM coverage_sweeps s WHERE s.change_id = v.consent_id AND s.version = v.version);
